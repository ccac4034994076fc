#!/usr/bin/env bash
# Rebuilds the fuzz targets' seed corpora (Tests/Fuzz/Corpus/TARGET/) from the real files in ../shared/data,
# the project's configs and small runs of the built tool. Usage: Tests/Fuzz/make_corpus.sh [BIN_DIR]
# (BIN_DIR holds spikescale and spikescale-fuzz; default .build/release). Seeds are kept small (a few kB each).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-.build/release}
DATA=../shared/data
OUT=Tests/Fuzz/Corpus
rm -rf "$OUT"; mkdir -p "$OUT"
seed() { mkdir -p "$OUT/$1"; cat > "$OUT/$1/$2"; }

for t in relu sigmoid conv_with_strides_padding maxpool_2d_pads averagepool_2d_default gemm_default_vector_bias \
         concat_2d_axis_1 reshape_negative_dim flatten_axis1 slice resize_upsample_scales_nearest batchnorm_example \
         leakyrelu globalaveragepool add_bcast split_equal_parts_2d_opset13 transpose_default; do
  seed onnx "$t.onnx" < "$DATA/onnx-node-tests/test_$t/model.onnx"
done
seed darknet-cfg yolo-fastest-1.1.cfg < "$DATA/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg"
seed darknet-cfg yolov3-tiny-mnist.cfg < "$DATA/tinyyolo-mnist/yolov3-tiny-mnist.cfg"
for c in yolov3-tiny.cfg yolov2-tiny.cfg; do [ -f "/usr/share/darknet/cfg/$c" ] && seed darknet-cfg "$c" < "/usr/share/darknet/cfg/$c"; done

python3 - "$OUT" "$DATA" <<'PY'
import gzip, os, struct, sys
out, data = sys.argv[1], sys.argv[2]
def seed(target, name, b):
    os.makedirs(f"{out}/{target}", exist_ok=True)
    open(f"{out}/{target}/{name}", "wb").write(b)
# Weights for the fuzz target's small cfg (134 floats), with both header layouts; the floats come from the real file.
real = open(f"{data}/yolo-fastest-1.1-coco/yolo-fastest-1.1.weights", "rb").read(20 + 134 * 4)
seed("darknet-weights", "v0.2.5.weights", real[:20] + real[20:20 + 134 * 4])
seed("darknet-weights", "v0.1.0.weights", struct.pack("<iiii", 0, 1, 0, 1000) + real[20:20 + 134 * 4])
# IDX: 2 images and 4 labels of MNIST, plain and gzipped.
img = gzip.open(f"{data}/mnist/t10k-images-idx3-ubyte.gz").read(16 + 2 * 784)
lab = gzip.open(f"{data}/mnist/t10k-labels-idx1-ubyte.gz").read(8 + 4)
img = img[:4] + struct.pack(">i", 2) + img[8:]
lab = lab[:4] + struct.pack(">i", 4) + lab[8:]
seed("idx", "images-2", img); seed("idx", "labels-4", lab)
seed("idx", "images-2.gz", gzip.compress(img, mtime=0)); seed("idx", "labels-4.gz", gzip.compress(lab, mtime=0))
# N-MNIST: the first 300 events of two recordings; the first lines of both split lists.
for s in ["1", "60001"]:
    seed("nmnist-events", f"{s}.bs2", open(f"{data}/nmnist-small/{s}.bs2", "rb").read(300 * 5))
for l in ["test100.txt", "train1K.txt"]:
    seed("nmnist-list", l, b"".join(open(f"{data}/nmnist-small/{l}", "rb").readlines()[:10]))
for split in ["train", "val"]:
    for f in sorted(os.listdir(f"{data}/coco8/labels/{split}")):
        seed("yolo-labels", f, open(f"{data}/coco8/labels/{split}/{f}", "rb").read())
PY

mkdir -p "$OUT/jpeg" "$OUT/config"
for f in "$DATA"/coco8/images/val/*.jpg; do "$BIN/spikescale-fuzz" jpeg-seed "$f" "$OUT/jpeg/$(basename "$f")"; done
cp Configs/*.yaml "$OUT/config/"

# A native model (JSON, NUL, weights), a run's result and samples files, and a sweep's result.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BIN/spikescale" zoo branchy --output "$tmp/m.json" > /dev/null
python3 - "$tmp" "$OUT" <<'PY'
import json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
doc = json.load(open(f"{tmp}/m.json")); doc["weightsFile"] = "m.bin"
os.makedirs(f"{out}/model", exist_ok=True)
open(f"{out}/model/branchy", "wb").write(json.dumps(doc, indent=1).encode() + b"\0" + open(f"{tmp}/m.bin", "rb").read())
PY
"$BIN/spikescale" simulate --model zoo:mnist-cnn --input synthetic --samples 2 -T 4 --quiet --json "$tmp/r.json" > /dev/null
"$BIN/spikescale" sweep --model zoo:mnist-cnn --data "$DATA/mnist" --samples 2 --sweep-timesteps 2,4 --quiet --output "$tmp/s" > /dev/null
mkdir -p "$OUT/result" "$OUT/samples"
cp "$tmp/r.json" "$OUT/result/run.json"; cp "$tmp/s/sweep.json" "$OUT/result/sweep.json"
cp "$tmp/r.json.samples.jsonl" "$OUT/samples/run.samples.jsonl"
# NIR: files written by Sinabs' exporter (h5py layout; one with per-neuron parameters) and one written by export-nir
# (metadata, SpikeScale node types).
mkdir -p "$OUT/nir"
cp Tests/Fixtures/nir/sinabs-lif-mlp.nir "$OUT/nir/sinabs-lif-mlp.nir"
cp Tests/Fixtures/nir/sinabs-lif-mlp-pertau.nir "$OUT/nir/sinabs-lif-mlp-pertau.nir"   # per-neuron tau_mem and threshold
"$BIN/spikescale" import-nir Tests/Fixtures/nir/norse-lif-mlp.nir --dt 1e-3 --convention norse --output "$tmp/n.json" > /dev/null
"$BIN/spikescale" export-nir "$tmp/n.json" --output "$OUT/nir/spikescale-export.nir" > /dev/null
# Training checkpoints: the run the checkpoint target restores into (FuzzTarget.checkpointConfig: 2 epochs of a tiny
# network on 64 MNIST images), and one of another run (seed 2), which the identity check refuses.
mkdir -p "$OUT/checkpoint"
for seed in 1 2; do
  "$BIN/spikescale" train --data "$DATA/mnist" --train-limit 64 --test-limit 16 --architecture ap4-2c3s2-8fc --timesteps 2 --epochs 2 \
    --batch-size 16 --chunk-size 8 --seed $seed --quiet --json "$tmp/t$seed.json" > /dev/null
done
cp "$tmp/t1.json.checkpoint" "$OUT/checkpoint/run.checkpoint"
cp "$tmp/t2.json.checkpoint" "$OUT/checkpoint/other-seed.checkpoint"
du -sh "$OUT"; for d in "$OUT"/*; do echo "$(basename "$d"): $(ls "$d" | wc -l) files, $(du -sk "$d" | cut -f1) kB"; done

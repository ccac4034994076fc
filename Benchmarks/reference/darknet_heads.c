// Reference dump for the Darknet importer: runs Debian's libdarknet (pjreddie Darknet) on one image
// and writes the letterboxed input (CHW float32) and the raw outputs of the layers feeding each
// [yolo] head (CHW float32), so that SpikeScale's DenseForward can be compared with Darknet itself.
// Build: gcc -O2 -I/usr/lib/darknet/include darknet_heads.c -L/usr/lib/darknet -ldarknet -Wl,-rpath,/usr/lib/darknet -o darknet_heads
// Run:   ./darknet_heads net.cfg net.weights image.jpg outdir
#include <stdio.h>
#include <stdlib.h>
#include <darknet.h>

static void dump(const char *dir, const char *name, const float *x, int n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof(float), n, f) != (size_t)n) { fprintf(stderr, "cannot write %s\n", path); exit(1); }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s cfg weights image outdir\n", argv[0]); return 2; }
    network *net = load_network(argv[1], argv[2], 0);
    set_batch_network(net, 1);
    image im = load_image_color(argv[3], 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
    dump(argv[4], "input_chw.f32", sized.data, net->w * net->h * 3);
    network_predict(net, sized.data);
    int head = 0;
    for (int i = 0; i < net->n; ++i) {
        if (net->layers[i].type != YOLO) continue;
        layer l = net->layers[i - 1];
        char name[64];
        snprintf(name, sizeof name, "head%d_chw.f32", head);
        dump(argv[4], name, l.output, l.outputs);
        printf("head %d: layer %d output %dx%dx%d\n", head, i - 1, l.out_c, l.out_h, l.out_w);
        ++head;
    }
    return 0;
}

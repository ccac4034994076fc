// Reference detections for YOLODecode: runs Debian's libdarknet (pjreddie Darknet) on one image
// (letterboxed as Darknet's detector does), decodes its [yolo] heads with get_network_boxes
// (relative coordinates), applies do_nms_sort with NMS threshold 0.45 and prints one line per
// detection and class with probability above thresh: "class prob x y w h" (centre box, relative
// to the image), then nothing else on stdout.
// Build: gcc -O2 -I/usr/lib/darknet/include darknet_boxes.c -L/usr/lib/darknet -ldarknet -Wl,-rpath,/usr/lib/darknet -o darknet_boxes
// Run:   ./darknet_boxes net.cfg net.weights image.jpg [thresh=0.25]
#include <stdio.h>
#include <stdlib.h>
#include <darknet.h>

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: %s cfg weights image [thresh]\n", argv[0]); return 2; }
    float thresh = argc == 5 ? (float)atof(argv[4]) : .25f;
    network *net = load_network(argv[1], argv[2], 0);
    set_batch_network(net, 1);
    image im = load_image_color(argv[3], 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
    network_predict(net, sized.data);
    int nboxes = 0;
    detection *dets = get_network_boxes(net, im.w, im.h, thresh, .5f, 0, 1, &nboxes);
    int classes = 0;
    for (int i = 0; i < net->n; ++i) if (net->layers[i].type == YOLO) classes = net->layers[i].classes;
    do_nms_sort(dets, nboxes, classes, .45f);
    for (int i = 0; i < nboxes; ++i) {
        for (int j = 0; j < classes; ++j) {
            if (dets[i].prob[j] > thresh) {
                box b = dets[i].bbox;
                printf("%d %.9g %.9g %.9g %.9g %.9g\n", j, dets[i].prob[j], b.x, b.y, b.w, b.h);
            }
        }
    }
    free_detections(dets, nboxes);
    free_image(sized);
    free_image(im);
    return 0;
}

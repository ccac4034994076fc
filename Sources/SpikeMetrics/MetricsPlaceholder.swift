// Task metrics (mAP) live here.

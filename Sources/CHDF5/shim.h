/* SpikeScale's view of HDF5 (Debian libhdf5-dev, pkg-config hdf5-serial) for the NIR reader and writer.
 *
 * HDF5 spells its property lists, file flags and native types as macros that call H5open() or cast,
 * which Swift cannot import; each one used is wrapped here in a `static inline` function prefixed
 * `ch5_`. The functions themselves (H5Fopen, H5Dread, ...) are called directly from Swift. */
#ifndef SPIKESCALE_CHDF5_SHIM_H
#define SPIKESCALE_CHDF5_SHIM_H

#include <hdf5.h>

static inline hid_t ch5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t ch5_s_all(void) { return H5S_ALL; }
static inline unsigned ch5_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned ch5_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline hid_t ch5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ch5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t ch5_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t ch5_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t ch5_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t ch5_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t ch5_c_s1(void) { return H5T_C_S1; }
static inline size_t ch5_variable(void) { return H5T_VARIABLE; }

/* Turns off HDF5's automatic error stack printing (to stderr) for every error stack: the callers
 * turn failed calls into one SpikeError naming the node and field instead. */
static inline void ch5_silence_errors(void) { H5open(); H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* The type of the object `name` in `loc` (H5O_TYPE_GROUP, H5O_TYPE_DATASET, ...), or -1. */
static inline int ch5_object_type(hid_t loc, const char *name) {
    H5O_info_t info;
    if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    return (int)info.type;
}

/* The name of link `i` of group `g` (in name order) into buf (NUL-terminated); its length, or -1. */
static inline long ch5_link_name(hid_t g, hsize_t i, char *buf, size_t size) {
    return (long)H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
}

/* The file address of a contiguous dataset's raw data in *off; 0 on success, -1 for another layout or no data. */
static inline int ch5_contiguous_offset(hid_t d, unsigned long long *off) {
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0) return -1;
    H5D_layout_t layout = H5Pget_layout(dcpl);
    H5Pclose(dcpl);
    if (layout != H5D_CONTIGUOUS) return -1;
    haddr_t a = H5Dget_offset(d);
    if (a == HADDR_UNDEF) return -1;
    *off = (unsigned long long)a;
    return 0;
}

/* Number of links in group g, or -1. */
static inline long long ch5_group_count(hid_t g) {
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) return -1;
    return (long long)info.nlinks;
}
#endif

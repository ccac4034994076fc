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

/* The file address of the object the hard link `name` in `loc` points to, in *addr: 0; -2 for a soft or
 * external link (nothing is followed); -1 if the link cannot be read. Reads the group's link storage only,
 * not the target's object header. */
static inline int ch5_link_address(hid_t loc, const char *name, unsigned long long *addr) {
    H5L_info_t info;
    if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) return -1;
    if (info.type != H5L_TYPE_HARD) return -2;
    *addr = (unsigned long long)info.u.address;
    return 0;
}

/* H5Dopen2 of HDF5 1.10.8 copies the dataset creation and access property lists first (H5D__new) and, when
 * the dataset's header cannot be decoded, returns an error without closing the copies (H5D__open_oid), so
 * every refused dataset would leave two property lists open for the life of the process. This opens the
 * dataset and, if that fails, closes every property list registered during the call: identifiers of a type
 * are numbered in order, so they lie between a probe list made before and one made after. The caller holds
 * the HDF5 lock (no other HDF5 call runs meanwhile). */
static inline hid_t ch5_dataset_open(hid_t loc, const char *name) {
    hid_t before = H5Pcreate(H5P_DATASET_ACCESS);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d >= 0 || before < 0) { if (before >= 0) H5Pclose(before); return d; }
    hid_t after = H5Pcreate(H5P_DATASET_ACCESS);
    if (after >= 0 && after > before && after - before < 4096)
        for (hid_t id = before + 1; id < after; id++)
            if (H5Iget_type(id) == H5I_GENPROP_LST) H5Pclose(id);
    H5Pclose(before);
    if (after >= 0) H5Pclose(after);
    return d;
}

/* Number of links in group g, or -1. */
static inline long long ch5_group_count(hid_t g) {
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) return -1;
    return (long long)info.nlinks;
}
/* The number of HDF5 identifiers open in this process, for the reader's leak checks (NIRTests).
 * Files, groups, datasets, committed datatypes and attributes: H5Fget_obj_count over all files (public API).
 * Dataspaces, datatypes (HDF5's predefined ones included) and property lists have no public counter
 * (H5Inmembers refuses the library's own types): libhdf5's exported H5I_nmembers, declared weak so that a
 * library without it gives -1 instead of failing to link. */
static inline long long ch5_open_objects(unsigned types) { return (long long)H5Fget_obj_count((hid_t)H5F_OBJ_ALL, types); }
static inline unsigned ch5_obj_file(void) { return H5F_OBJ_FILE; }
static inline unsigned ch5_obj_group(void) { return H5F_OBJ_GROUP; }
static inline unsigned ch5_obj_dataset(void) { return H5F_OBJ_DATASET; }
static inline unsigned ch5_obj_datatype(void) { return H5F_OBJ_DATATYPE; }
static inline unsigned ch5_obj_attr(void) { return H5F_OBJ_ATTR; }
extern int H5I_nmembers(H5I_type_t type) __attribute__((weak));
static inline long long ch5_open_ids(H5I_type_t type) { return H5I_nmembers ? (long long)H5I_nmembers(type) : -1; }
#endif

#ifndef EMOCFG_DLIB_FACE_H
#define EMOCFG_DLIB_FACE_H
// A C interface to dlib's HOG frontal-face detector (dlib::get_frontal_face_detector), so Swift can
// call it in-process. The model is compiled into dlib; nothing is read from disk or downloaded.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One detector. It keeps scratch buffers between calls, so it belongs to one thread at a time.
typedef struct emocfg_face_detector emocfg_face_detector;

/// A face found, in pixels of the image searched: edges inclusive as dlib gives them, and the
/// detector's confidence (the HOG filter's score above its threshold).
typedef struct {
    int32_t left;
    int32_t top;
    int32_t right;
    int32_t bottom;
    double score;
} emocfg_face_rect;

/// A new detector, or NULL when dlib cannot build one (the reason in `error`, when given, of
/// `error_size` bytes).
emocfg_face_detector *emocfg_face_detector_new(char *error, int32_t error_size);

void emocfg_face_detector_free(emocfg_face_detector *detector);

/// Searches an 8-bit grayscale image (`stride` bytes from one row to the next) at the scales of the
/// detector's own image pyramid (faces of about 80 pixels and larger). Writes up to `capacity` faces
/// to `out`, best first, and returns how many were found (which may be more than `capacity`), or -1
/// on failure (the reason in `error`).
int32_t emocfg_face_detect_gray(
    emocfg_face_detector *detector, const uint8_t *pixels, int32_t width, int32_t height, int32_t stride,
    double adjust_threshold, emocfg_face_rect *out, int32_t capacity, char *error, int32_t error_size);

/// The dlib version the shim was compiled against, e.g. "19.24.0".
const char *emocfg_dlib_version(void);

/// The smallest face (in pixels of the searched image) the detector's window finds: 80 for dlib's
/// frontal model.
int32_t emocfg_face_window_size(void);

#ifdef __cplusplus
}
#endif

#endif

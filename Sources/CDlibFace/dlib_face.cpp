// The C++ side of emocfg_dlib_face.h: dlib's HOG frontal-face detector over a borrowed grayscale
// buffer (no copy), behind a C interface.

#include "emocfg_dlib_face.h"

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/revision.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace emocfg {

/// A read-only view of a grayscale buffer, made into a dlib generic image: the free functions
/// below are found by argument-dependent lookup, as dlib's generic image interface asks.
struct gray_view {
    const unsigned char *data;
    long rows;
    long cols;
    long stride;
};
inline long num_rows(const gray_view &v) { return v.rows; }
inline long num_columns(const gray_view &v) { return v.cols; }
inline const void *image_data(const gray_view &v) { return v.data; }
inline long width_step(const gray_view &v) { return v.stride; }

}  // namespace emocfg

namespace dlib {
template <> struct image_traits<emocfg::gray_view> { typedef unsigned char pixel_type; };
}  // namespace dlib

namespace {

void set_error(char *error, int32_t size, const char *message) {
    if (error && size > 0) {
        std::snprintf(error, static_cast<size_t>(size), "%s", message);
    }
}

}  // namespace

struct emocfg_face_detector {
    dlib::frontal_face_detector detector;
    std::vector<dlib::rect_detection> found;
};

extern "C" emocfg_face_detector *emocfg_face_detector_new(char *error, int32_t error_size) {
    try {
        auto *d = new emocfg_face_detector();
        d->detector = dlib::get_frontal_face_detector();
        return d;
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
    } catch (...) {
        set_error(error, error_size, "dlib could not build its frontal face detector");
    }
    return nullptr;
}

extern "C" void emocfg_face_detector_free(emocfg_face_detector *detector) { delete detector; }

extern "C" int32_t emocfg_face_detect_gray(
    emocfg_face_detector *detector, const uint8_t *pixels, int32_t width, int32_t height, int32_t stride,
    double adjust_threshold, emocfg_face_rect *out, int32_t capacity, char *error, int32_t error_size) {
    if (!detector || !pixels || width <= 0 || height <= 0 || stride < width) {
        set_error(error, error_size, "invalid image: no pixels, or a stride shorter than a row");
        return -1;
    }
    try {
        emocfg::gray_view view{pixels, height, width, stride};
        detector->found.clear();
        detector->detector(view, detector->found, adjust_threshold);
        std::sort(detector->found.begin(), detector->found.end(),
                  [](const dlib::rect_detection &a, const dlib::rect_detection &b) {
                      return a.detection_confidence > b.detection_confidence;
                  });
        const int32_t n = static_cast<int32_t>(detector->found.size());
        for (int32_t i = 0; i < std::min(n, capacity); ++i) {
            const auto &r = detector->found[static_cast<size_t>(i)];
            out[i].left = static_cast<int32_t>(r.rect.left());
            out[i].top = static_cast<int32_t>(r.rect.top());
            out[i].right = static_cast<int32_t>(r.rect.right());
            out[i].bottom = static_cast<int32_t>(r.rect.bottom());
            out[i].score = r.detection_confidence;
        }
        return n;
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
    } catch (...) {
        set_error(error, error_size, "dlib failed while searching the image");
    }
    return -1;
}

extern "C" const char *emocfg_dlib_version(void) {
    static const std::string version = std::to_string(DLIB_MAJOR_VERSION) + "." + std::to_string(DLIB_MINOR_VERSION) +
                                       "." + std::to_string(DLIB_PATCH_VERSION);
    return version.c_str();
}

extern "C" int32_t emocfg_face_window_size(void) { return 80; }

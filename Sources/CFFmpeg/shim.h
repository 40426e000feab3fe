#ifndef EMOCFG_CFFMPEG_SHIM_H
#define EMOCFG_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// Macros Swift cannot import.
static inline int emocfg_averror_eof(void) { return AVERROR_EOF; }
static inline int emocfg_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t emocfg_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int emocfg_av_time_base(void) { return AV_TIME_BASE; }

// libav reports the reason for a failure (e.g. "moov atom not found") only through av_log, whose
// callback takes a va_list. The callback formats the line here and keeps the last error-level
// message per thread, so a probe running on that thread can attach it to its error. Nothing is
// printed: emocfg's modules never write to the terminal.
static __thread char emocfg_last_log[512];
static inline void emocfg_log_callback(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > AV_LOG_ERROR) return;
    char line[512];
    int print_prefix = 0;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
    if (n > 0) memcpy(emocfg_last_log, line, n + 1);
}
static inline void emocfg_install_log_capture(void) {
    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(emocfg_log_callback);
}
static inline void emocfg_clear_last_log(void) { emocfg_last_log[0] = 0; }
static inline void emocfg_copy_last_log(char *out, size_t size) {
    if (size == 0) return;
    strncpy(out, emocfg_last_log, size - 1);
    out[size - 1] = 0;
}
#endif

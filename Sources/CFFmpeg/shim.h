#ifndef EMOCFG_CFFMPEG_SHIM_H
#define EMOCFG_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/opt.h>
#include <libavutil/channel_layout.h>
#include <libavutil/audio_fifo.h>
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

#endif

#!/usr/bin/env bash
# Writes a library of source videos as varied as real collections into DIR: several
# encoders and containers, interlaced and anamorphic MPEG-2, chroma locations, full
# range, 10-bit and 4:2:2, HDR10 and HLG, VP9, AV1, MJPEG, ProRes with alpha, DV,
# odd frame rates, variable frame rate, rotations, odd and huge sizes, a very short
# file, extra streams, and two files that are not videos at all.
#
# Every picture is a grey field with a white marker filling its top-left quarter (as
# displayed), so a test can check a clip's geometry: aspect kept, rotation applied
# once, nothing stretched. The end-to-end test tests/it/matrix.rs uses it, and
# scripts/seams.sh --matrix airs it for hls-seams.
#   scripts/source-matrix.sh DIR
set -euo pipefail
dir=${1:?usage: source-matrix.sh DIR}
mkdir -p "$dir"
cd "$dir"
ff() { ffmpeg -hide_banner -nostdin -loglevel error -y "$@"; }
# The picture at WxH (display size), RATE fps, SECS long.
pic() { echo "color=c=0x808080:s=$1x$2:r=$3:d=$4,drawbox=x=0:y=0:w=iw/2:h=ih/2:color=white:t=fill"; }
x264=(-c:v libx264 -preset ultrafast -threads 2)

# MPEG-2 in MPEG-PS, interlaced, anamorphic: 16:9 PAL top field first, 4:3 NTSC bottom field first.
ff -f lavfi -i "$(pic 1024 576 25 3),scale=720:576,setsar=64/45" -c:v mpeg2video -b:v 3M \
  -flags +ilme+ildct -top 1 -aspect 16:9 -f vob mpeg2-pal-tff-16x9.mpg
ff -f lavfi -i "$(pic 640 480 30000/1001 3),scale=720:480,setsar=8/9" -c:v mpeg2video -b:v 3M \
  -flags +ilme+ildct -top 0 -aspect 4:3 -f vob mpeg2-ntsc-bff-4x3.mpg

# H.264 with chroma locations left, topleft and center, and full range (yuvj420p).
for loc in left:0 topleft:2 center:1; do
  ff -f lavfi -i "$(pic 640 360 30 3)" "${x264[@]}" -pix_fmt yuv420p -chroma_sample_location "${loc%%:*}" \
    -x264-params "chromaloc=${loc##*:}" "h264-chroma-${loc%%:*}.mp4"
done
ff -f lavfi -i "$(pic 640 360 30 3)" "${x264[@]}" -pix_fmt yuvj420p -color_range pc h264-fullrange.mp4

# HEVC 10-bit 4:2:0 and 4:2:2; HDR10 (PQ, BT.2020, mastering display and content light level) and HLG.
x265=(-c:v libx265 -preset ultrafast -x265-params log-level=error)
ff -f lavfi -i "$(pic 640 360 25 3)" "${x265[@]}" -pix_fmt yuv420p10le hevc-10bit-420.mkv
ff -f lavfi -i "$(pic 640 360 25 3)" "${x265[@]}" -pix_fmt yuv422p10le hevc-10bit-422.mkv
ff -f lavfi -i "$(pic 640 360 24 3)" -c:v libx265 -preset ultrafast -pix_fmt yuv420p10le \
  -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc \
  -x265-params "log-level=error:hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400" \
  hdr10-pq.mkv
ff -f lavfi -i "$(pic 640 360 25 3)" "${x265[@]}" -pix_fmt yuv420p10le \
  -color_primaries bt2020 -color_trc arib-std-b67 -colorspace bt2020nc hdr-hlg.mkv

# VP9 and AV1 in WebM.
ff -f lavfi -i "$(pic 480 270 30 3)" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 500k vp9.webm
ff -f lavfi -i "$(pic 320 180 30 2)" -c:v libaom-av1 -cpu-used 8 -usage realtime -b:v 200k av1.webm

# MJPEG 4:2:2 full range in AVI and MOV; ProRes 4:2:2 and 4:4:4 with alpha; DV PAL 4:3.
ff -f lavfi -i "$(pic 640 480 25 3)" -c:v mjpeg -pix_fmt yuvj422p -q:v 5 mjpeg-422.avi
ff -f lavfi -i "$(pic 640 480 30 3)" -c:v mjpeg -pix_fmt yuvj422p -q:v 5 mjpeg-422.mov
ff -f lavfi -i "$(pic 640 360 25 3)" -c:v prores_ks -profile:v 2 -pix_fmt yuv422p10le prores-422.mov
ff -f lavfi -i "$(pic 640 360 25 3),format=yuva444p10le" -c:v prores_ks -profile:v 4444 \
  -pix_fmt yuva444p10le prores-4444-alpha.mov
ff -f lavfi -i "$(pic 768 576 25 3),scale=720:576,setsar=16/15" -c:v dvvideo -pix_fmt yuv420p \
  -aspect 4:3 dv-pal-4x3.dv

# Frame rates: 23.976, 59.94, 120, and variable.
ff -f lavfi -i "$(pic 640 360 24000/1001 3)" "${x264[@]}" -pix_fmt yuv420p fps-23.976.mp4
ff -f lavfi -i "$(pic 640 360 60000/1001 3)" "${x264[@]}" -pix_fmt yuv420p fps-59.94.mp4
ff -f lavfi -i "$(pic 320 180 120 3)" "${x264[@]}" -pix_fmt yuv420p fps-120.mkv
ff -f lavfi -i "$(pic 640 360 30 3),setpts='N/30/TB+0.02*mod(N,4)/TB'" "${x264[@]}" -pix_fmt yuv420p \
  -fps_mode vfr fps-variable.mkv

# Rotation by display matrix: the pixels are stored turned, the matrix turns them back.
# (ffmpeg 5.1 turns the legacy `rotate` tag into the display matrix on a stream copy.)
turned() { # ANGLE FILTER W H OUT
  ff -f lavfi -i "$(pic "$3" "$4" 30 3),$2" "${x264[@]}" -pix_fmt yuv420p "turned-$5"
  ff -i "turned-$5" -c copy -metadata:s:v:0 rotate="$1" "$5"
  rm "turned-$5"
}
turned 90 transpose=clock 360 640 rotate-90.mp4
turned 180 hflip,vflip 640 360 rotate-180.mp4
turned 270 transpose=cclock 360 640 rotate-270.mp4

# Sizes: 853x480 (odd width), 177x97 (odd both: 4:4:4), 3840x2160.
ff -f lavfi -i "$(pic 853 480 30 3),format=yuv444p" "${x264[@]}" size-853x480.mkv
ff -f lavfi -i "$(pic 177 97 30 3),format=yuv444p" "${x264[@]}" size-177x97.mkv
ff -f lavfi -i "$(pic 3840 2160 30 1.5)" "${x264[@]}" -pix_fmt yuv420p size-3840x2160.mp4

# A 0.8 s file; two video streams with audio and subtitles (the first video is the one).
ff -f lavfi -i "$(pic 640 360 30 0.8)" "${x264[@]}" -pix_fmt yuv420p short-0.8s.mp4
printf '1\n00:00:00,000 --> 00:00:02,000\nhello\n' > subs.srt
ff -f lavfi -i "$(pic 640 360 30 3)" -f lavfi -i "testsrc=s=320x240:r=25:d=3" -f lavfi -i "sine=d=3" -i subs.srt \
  -map 0:v -map 1:v -map 2:a -map 3:s "${x264[@]}" -pix_fmt yuv420p -c:a aac -c:s srt two-videos-subs.mkv
rm subs.srt

# Not videos: audio only, and audio whose only picture is cover art.
ff -f lavfi -i "sine=d=3" -c:a aac not-video-audio-only.mp4
ff -f lavfi -i "color=c=red:s=300x300:d=1" -frames:v 1 cover.png
ff -f lavfi -i "sine=d=3" -i cover.png -map 0:a -map 1:v -c:a aac -c:v png -disposition:v:0 attached_pic \
  not-video-cover-art.mp4
rm cover.png

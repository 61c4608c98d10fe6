/**
 * The media the upstream simulator serves, and the tests and benchmarks
 * copy: the real sample files in lib/local/media/ (a 1 s H.264 MP4 and two
 * JPEGs), made unique per generation and as large as asked while staying
 * valid: an MP4 gains a trailing `free` box (ISO BMFF: size, "free", any
 * bytes: players skip it) holding the tag and the padding; a JPEG gains a
 * comment segment (FF FE) with the tag after its start marker. Large videos
 * are produced as a stream, never held whole.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

const DIR = join(__dirname, 'media');
const load = (name: string) => readFileSync(join(DIR, name));
let samples: { video: Buffer; thumbnail: Buffer; last_frame: Buffer } | undefined;
const sample = () => (samples ??= { video: load('video.mp4'), thumbnail: load('thumbnail.jpg'), last_frame: load('last_frame.jpg') });

export type SampleMedium = 'video' | 'thumbnail' | 'last_frame';

const FREE_HEADER = 8;
const PAD_CHUNK = Buffer.alloc(64 * 1024, 0x2e);

/** The size of the video `videoStream(tag, bytes)` produces: `bytes`, or the smallest valid size when that is less. */
export function videoSize(tag: string, bytes = 0): number {
  return Math.max(bytes, sample().video.length + FREE_HEADER + Buffer.byteLength(tag));
}

/** A valid MP4 of `videoSize(tag, bytes)` bytes, streamed (64 KiB of padding at a time). */
export function videoStream(tag: string, bytes = 0): Readable {
  const total = videoSize(tag, bytes);
  const head = sample().video;
  const tagBytes = Buffer.from(tag);
  const boxSize = total - head.length;
  const boxHeader = Buffer.alloc(FREE_HEADER);
  boxHeader.writeUInt32BE(boxSize, 0);
  boxHeader.write('free', 4, 'latin1');
  return Readable.from(
    (function* () {
      yield head;
      yield boxHeader;
      yield tagBytes;
      for (let left = boxSize - FREE_HEADER - tagBytes.length; left > 0; left -= PAD_CHUNK.length) yield left >= PAD_CHUNK.length ? PAD_CHUNK : PAD_CHUNK.subarray(0, left);
    })(),
    { objectMode: false },
  );
}

/** A small valid medium, whole: the video (unpadded) or an image, unique to `tag`. */
export function mediumBytes(medium: SampleMedium, tag: string): Buffer {
  if (medium === 'video') {
    const head = sample().video;
    const box = Buffer.alloc(FREE_HEADER);
    box.writeUInt32BE(FREE_HEADER + Buffer.byteLength(tag), 0);
    box.write('free', 4, 'latin1');
    return Buffer.concat([head, box, Buffer.from(tag)]);
  }
  const image = sample()[medium];
  const comment = Buffer.from(tag);
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(2 + comment.length, 2);
  return Buffer.concat([image.subarray(0, 2), segment, comment, image.subarray(2)]);
}

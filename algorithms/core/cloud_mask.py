"""Generate Cloud Mask: clear / cloud / cloud shadow classes from a multispectral raster with an ONNX model,
streamed one tile row at a time so that memory depends on the raster width, never on the scene size.

`plan_cloud_mask` checks and resolves every input (bands, model card, scale, resolution) before anything is
written; `run_cloud_mask` then reads, infers, blends and writes row by row.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import band_mapping
from .cloud_mask_plan import (  # noqa: F401 (the plan's names, importable from here as before)
    CloudMaskPlan,
    pixel_size_m,
    plan_cloud_mask,
    processing_factor,
    sample_reflectance_p99,
    scaling_warning,
)
from .gdal_env import gdal_scoped, open_with_decode_threads
from .postprocess import PostProcessRows
from .progress import NULL_PROGRESS, InputError
from .raster_io import numpy_dtype, open_raster
from .raster_writer import commit_together, writer_like
from .row_cache import RowCache
from .shadow_check import ShadowFilter
from .tiling import (
    BilinearRowUpsampler,
    RowBlender,
    class_argmax,
    mirror_index,
    softmax,
    take_mirrored,
    tile_origins,
)

NODATA = 255


class ReflectanceReader:
    """Reads the model's bands as normalised reflectance rows on the (possibly coarser) processing grid."""

    def __init__(self, ds, plan, stream=False):
        self.ds, self.plan, self.f = ds, plan, plan.factor
        # a stream of overlapping strips keeps the rows they share (each block decoded once); else rows are read
        self.source = RowCache(ds, plan.bands)
        self.fetch = self.source.rows if stream else self.source.read
        self.width, self.height = ds.RasterXSize, ds.RasterYSize
        self.cw, self.ch = -(-self.width // self.f), -(-self.height // self.f)
        self.mean = np.array(plan.card.mean, np.float32)[:, None, None]
        self.std = np.array(plan.card.std, np.float32)[:, None, None]
        self.checked = False
        self.float_input = any(numpy_dtype(ds, b).kind == "f" for b in plan.bands)

    def fine_rows(self, y0, y1):
        """(bands, rows, width) reflectance and (rows, width) validity of input rows y0..y1."""
        valid = np.ones((y1 - y0, self.width), bool)
        nonzero = np.zeros((y1 - y0, self.width), bool)
        out = np.empty((len(self.plan.bands), y1 - y0, self.width), np.float32)
        for i, (raw, nd) in enumerate(zip(self.fetch(y0, y1), self.plan.nodata)):
            if nd is not None:
                valid &= ~np.isclose(raw, nd) if raw.dtype.kind == "f" and not math.isnan(nd) else raw != nd
            nonzero |= raw != 0
            refl = out[i]
            np.multiply(raw, np.float32(self.plan.scale), out=refl, casting="unsafe")
            refl += np.float32(self.plan.offset)
        valid &= nonzero
        if self.float_input:
            valid &= np.isfinite(out).all(axis=0)
        return out, valid

    def model_rows(self, r0, r1):
        """Normalised (bands, rows, cw) model input of processing-grid rows r0..r1 and (first input row, validity
        of the input rows read)."""
        f = self.f
        refl, valid = self.fine_rows(r0 * f, min(r1 * f, self.height))
        fine = (r0 * f, valid)
        if not self.checked and valid.any():
            self.checked = True
            p99 = _reflectance_p99(refl, valid)
            hi = self.plan.card.reflectance_range[1]
            if p99 > 5 * hi:
                raise InputError(f"The input does not look like reflectance after scaling: 1 % of the pixels exceed "
                                 f"{p99:g} (the model expects {self.plan.card.reflectance_range[0]:g} to {hi:g}). "
                                 "Set SCALE (for example 0.0001 for Sentinel-2 DN, 0.001 for reflectance x 1000).")
        if not valid.all():
            np.multiply(refl, valid, out=refl)
            if self.float_input:
                refl[~np.isfinite(refl)] = 0  # NaN x 0 is still NaN
        if f > 1:
            n = _block_sum(valid.astype(np.float32), f, r1 - r0, self.cw)
            refl = np.stack([_block_sum(band, f, r1 - r0, self.cw) for band in refl])
            valid = n > 0
            refl /= np.maximum(n, 1)
        refl -= self.mean
        refl /= self.std
        if not valid.all():
            np.multiply(refl, valid, out=refl)  # invalid pixels enter the model at the training mean (0)
        return refl, fine


def _reflectance_p99(refl, valid, values=1 << 16):
    """99th percentile of the valid pixels' reflectance in all bands, from a regular subsample of about `values`
    values (the percentile of a whole strip costs more than reading it; the check it serves has a 5x margin)."""
    step = max(1, int(math.sqrt(refl.size / values)))
    sub = valid[::step, ::step]
    if not sub.any():
        sub, step = valid, 1
    return float(np.percentile(refl[:, ::step, ::step][:, sub], 99))


def _block_sum(a, f, out_h, out_w):
    """Sums of f x f blocks of a 2-D array into (out_h, out_w), zero-padding partial blocks at the far edges."""
    if a.shape != (out_h * f, out_w * f):
        a = np.pad(a, ((0, out_h * f - a.shape[0]), (0, out_w * f - a.shape[1])))
    rows = a[0::f].astype(np.float32)  # strided adds: several times faster than reshape(...).sum(axis=(1, 3))
    for i in range(1, f):
        rows += a[i::f]
    out = rows[:, 0::f].copy()
    for i in range(1, f):
        out += rows[:, i::f]
    return out


def _class_writer(ds, path, card, plan):
    colours = dict(card.colours)
    meta = {"CLOUD_MODEL": card.id, "CLOUD_MODEL_SHA256": card.sha256, "SCALE": plan.scale, "OFFSET": plan.offset,
            "PROCESSING_FACTOR": plan.factor, "BANDS": band_mapping.describe(plan.roles)}
    return writer_like(ds, path, bands=1, dtype=np.uint8, nodata=NODATA, color_table=colours,
                       category_names=card.class_names, band_descriptions=["cloud mask classes"], metadata=meta)


class CloudMaskRun:
    """One streamed run: tile rows read ahead in a second thread, inferred in batches, blended, upsampled to the
    input grid when processing coarser, and written row by row as soon as no later tile touches them; blending and
    writing run in a third thread, in order, while the model infers the next batch."""

    def __init__(self, plan, model, progress):
        self.plan, self.model, self.progress = plan, model, progress
        self.card = card = plan.card
        self.ds = open_raster(plan.input_path)
        # GDAL handles are not thread-safe: the prefetch thread reads through its own one. Inference on the CPU
        # keeps every core busy, so that reader decodes on its own thread only (parallel decoding adds CPU time).
        on_cpu = (getattr(model, "providers", None) or [""])[0] == "CPUExecutionProvider"
        self.reader = ReflectanceReader(open_with_decode_threads(lambda: open_raster(plan.input_path), 1)
                                        if on_cpu else open_raster(plan.input_path), plan, stream=True)
        self.valid_reader = ReflectanceReader(self.ds, plan)
        self.tile = card.tile_size
        cw, ch = self.reader.cw, self.reader.ch
        self.ys, self.xs = tile_origins(ch, self.tile, plan.overlap), tile_origins(cw, self.tile, plan.overlap)
        self.blender = RowBlender(ch, cw, len(card.classes), self.tile, plan.overlap)
        # a card's post-processing (disk mean, threshold, growing) runs on the processing grid, before upsampling
        self.post = PostProcessRows(ch, card.postprocess, card.cloud_classes) if card.postprocess else None
        self.up = BilinearRowUpsampler(plan.height, plan.width, ch, cw, plan.factor) if plan.factor > 1 else None
        self.counts = np.zeros(NODATA + 1, np.int64)
        self.batch = np.empty((plan.batch_size, len(plan.bands), self.tile, self.tile), np.float32)
        self.recent = []  # (first input row, validity) of the last strips read, for the rows being written
        self.writers = (None, None)
        self.shadows = ShadowFilter(plan.shadow, plan.height, plan.width) if plan.shadow else None
        self.blending, self.pending = None, None  # the blending and writing thread, and its queued step

    def strip(self, y):
        """Model input of the tile row at y, mirrored at the raster's edges: (bands, tile, columns from the first
        tile's origin to the last tile's end) so that every tile is a plain slice; and (first input row,
        validity of the input rows read)."""
        rows = mirror_index(np.arange(y, y + self.tile), self.reader.ch)
        lo = int(rows.min())
        x_in, fine = self.reader.model_rows(lo, int(rows.max()) + 1)
        cols = mirror_index(np.arange(self.xs[0], self.xs[-1] + self.tile), self.reader.cw)
        return take_mirrored(x_in, rows - lo, cols), fine

    def valid_rows(self, row0, n, recent):
        """Validity of input rows row0..row0+n from the strips `recent` (read again only if not covered)."""
        valid = np.empty((n, self.plan.width), bool)
        missing = np.ones(n, bool)
        for a, v in reversed(recent):
            lo, hi = max(row0, a), min(row0 + n, a + len(v))
            if hi > lo:
                valid[lo - row0:hi - row0] = v[lo - a:hi - a]
                missing[lo - row0:hi - row0] = False
        if missing.any():
            return self.valid_reader.fine_rows(row0, row0 + n)[1]
        return valid

    def emit(self, row0, probs, recent):
        """Write finished input-grid rows row0.. from (classes, n, width) probabilities."""
        writer, prob_writer = self.writers
        valid = self.valid_rows(row0, probs.shape[1], recent)
        if self.post is not None:  # the last channel is the post-processed cloud decision
            cloud_value = self.card.cloud_classes[0]
            classes = np.where(probs[-1] >= 0.5, cloud_value, 1 - cloud_value).astype(np.uint8)
            probs = probs[:-1]
        else:
            classes = class_argmax(probs)
        classes[~valid] = NODATA
        self.counts += np.bincount(classes.ravel(), minlength=NODATA + 1)
        writer.write(classes, 0, row0)
        if self.shadows is not None:
            self.shadows.add_classes(row0, classes)
        if prob_writer is not None:
            p = np.rint(np.clip(probs[list(self.card.cloud_classes)].sum(axis=0), 0, 1) * 100).astype(np.uint8)
            p[~valid] = NODATA
            prob_writer.write(p, 0, row0)

    def run_row(self, i, y, strip):
        """Infer all tiles of the tile row at y, blend them and write the rows that are finished."""
        x0 = self.xs[0]
        for b0 in range(0, len(self.xs), self.plan.batch_size):
            group = self.xs[b0:b0 + self.plan.batch_size]
            for j, x in enumerate(group):
                self.batch[j] = strip[:, :, x - x0:x - x0 + self.tile]
            out = self.model(self.batch[:len(group)])
            if np.may_share_memory(out, self.batch):  # the next batch is assembled in place while this one blends
                out = out.copy()
            self.after(self.blend, y, group, out)
            self.progress.check()
        self.after(self.finish_row, i == len(self.ys) - 1, list(self.recent))

    def after(self, step, *args):
        """Queue a step of blending and writing for the blending thread, where it runs while the model infers
        the next batch; at most one step waits (its errors come out here, or in drain())."""
        self.drain()
        self.pending = self.blending.submit(step, *args)

    def drain(self):
        """Wait for the queued blending step (and raise its error)."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def blend(self, y, group, out):
        """Blending thread: one batch of model output into the row blender."""
        probs = out if self.card.output_kind == "probabilities" else softmax(out, axis=1)
        for x, p in zip(group, probs):
            self.blender.add(y, x, p)

    def finish_row(self, last, recent):
        """Blending thread: hand the finished rows on (upsampled when processing coarser) and write them."""
        done = self.blender.finish_rows(last=last)
        if self.post is not None:
            done = self.post.push(*(done or ()), last=last)
        if done is not None and self.up is not None:
            done = self.up.push(*done)
        if done is not None:
            self.emit(*done, recent)

    def check_shadows(self, writer):
        """Second pass over the written classes: the shadow regions no cloud could cast become clear."""
        f, plan = self.shadows, self.plan.shadow
        writer.ds.FlushCache()
        band = writer.ds.GetRasterBand(1)
        removed = f.apply(lambda y, n: band.ReadAsArray(0, y, self.plan.width, n),
                          lambda a, y: writer.write(a, 0, y), check=self.progress.check)
        self.counts[plan.shadow_value] -= removed
        self.counts[plan.clear_value] += removed
        share = 100.0 * removed / max(f.shadow_pixels, 1)
        self.progress.log(f"shadow check: {removed} of {f.shadow_pixels} shadow pixels ({share:.1f} %) in "
                          f"{f.removed_regions} of {f.regions} regions set to clear: no cloud could cast them")

    def run(self, output_path, probability_path=None):
        """Stream every tile row and commit the outputs together; returns the class counts {name: pixels}."""
        plan, card = self.plan, self.card
        self.progress.log(f"{len(self.ys)} x {len(self.xs)} tiles of {self.tile} x {self.tile} px on a "
                          f"{self.reader.cw} x {self.reader.ch} processing grid")
        writer, prob_writer = _class_writer(self.ds, output_path, card, plan), None
        try:
            if probability_path:
                prob_writer = writer_like(self.ds, probability_path, bands=1, dtype=np.uint8, nodata=NODATA,
                                          band_descriptions=["cloud probability (%)"],
                                          metadata={"CLOUD_MODEL": card.id})
            self.writers = (writer, prob_writer)
            with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=1) as blending:
                self.blending = blending
                pending = pool.submit(self.strip, self.ys[0])
                for i, y in enumerate(self.ys):
                    strip, fine = pending.result()
                    if i + 1 < len(self.ys):
                        pending = pool.submit(self.strip, self.ys[i + 1])  # read ahead while the model runs
                    self.recent[:] = (self.recent + [fine])[-3:]
                    self.run_row(i, y, strip)
                    self.progress.update((i + 1) / len(self.ys))
                self.drain()
            if self.shadows is not None:
                self.check_shadows(writer)
            commit_together(writer, prob_writer)
        except BaseException:
            for w in (writer, prob_writer):
                if w is not None:
                    w.abort()
            raise
        names = card.class_names
        return {(names[v] if v < len(names) else ("nodata" if v == NODATA else str(v))): int(c)
                for v, c in enumerate(self.counts) if c}


def provider_line(model, requested="auto"):
    """The log line naming the execution provider the model runs on (session.get_providers())."""
    used = getattr(model, "providers", None)
    if not used:
        return f"execution provider: none, the model is a Python callable ({type(model).__name__})"
    how = "automatic choice" if str(requested).lower() == "auto" else f"EXECUTION_PROVIDER={requested}"
    line = f"execution provider: {used[0]} ({how}; session providers {', '.join(used)})"
    fallback = getattr(model, "fallback", None)
    return line + (f"; warning: {fallback}" if fallback else "")


@gdal_scoped
def run_cloud_mask(plan, output_path, probability_path=None, progress=NULL_PROGRESS, model=None):
    """Stream the model over the raster and write the class raster (and optional cloud probability 0-100).

    model: a callable (N, bands, T, T) -> (N, classes, T, T); by default the card's ONNX model in onnxruntime.
    Returns a dict of class counts {name: pixels}. Outputs appear only if the whole run succeeds.
    The next tile row is read in a second thread while the model runs on the current one.
    """
    if model is None:
        from .onnx_model import load_model

        model = load_model(plan.card, plan.card.onnx_path, plan.threads, plan.providers,
                           strict=plan.provider.lower() != "auto")
    for line in plan.notes:
        progress.log(line)
    progress.log(provider_line(model, plan.provider))
    return CloudMaskRun(plan, model, progress).run(output_path, probability_path)


@gdal_scoped
def generate_cloud_mask(input_path, output_path, probability_path=None, progress=NULL_PROGRESS, model=None,
                        **options):
    """Plan (check everything) and run in one call; options are those of plan_cloud_mask."""
    plan = plan_cloud_mask(input_path, output_path, probability_path=probability_path, **options)
    return run_cloud_mask(plan, output_path, probability_path, progress, model)


"""Generate Cloud Mask: clear / cloud / cloud shadow classes from a multispectral raster with an ONNX model,
streamed one tile row at a time so that memory depends on the raster width, never on the scene size.

`plan_cloud_mask` checks and resolves every input (bands, model card, scale, resolution) before anything is
written; `run_cloud_mask` then reads, infers, blends and writes row by row.
"""

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from osgeo import osr

from . import band_mapping, model_card
from .gdal_env import gdal_scoped
from .progress import NULL_PROGRESS, InputError
from .raster_formats import check_outputs
from .raster_io import Window, band_nodata, numpy_dtype, open_raster, read_window
from .raster_writer import commit_together, writer_like
from .tiling import BilinearRowUpsampler, RowBlender, mirror_index, softmax, tile_origins

NODATA = 255
METRES_PER_DEGREE = 111320.0
MAX_FACTOR = 16        # coarsest processing grid: 16 x 16 input pixels per model pixel
LOW_P99, HIGH_P99 = 0.05, 1.5  # scaled reflectance whose 99th percentile lies outside looks wrongly scaled


@dataclass
class CloudMaskPlan:
    """Everything a run needs, resolved and checked; `notes` are lines for the log."""

    input_path: str
    card: object
    bands: list  # 1-based input band per card band, in the card's order
    roles: dict
    scale: float
    offset: float
    nodata: list  # declared nodata per card band (or None)
    factor: int
    overlap: float
    batch_size: int
    threads: int
    width: int
    height: int
    notes: list = field(default_factory=list)


def _band_wavelengths(ds):
    """{band: nm} from CENTRAL_WAVELENGTH_NM / wavelength metadata, when every band has one."""
    out = {}
    for b in range(1, ds.RasterCount + 1):
        md = ds.GetRasterBand(b).GetMetadata() or {}
        value = md.get("CENTRAL_WAVELENGTH_NM") or md.get("wavelength")
        try:
            nm = float(value)
        except (TypeError, ValueError):
            return {}
        units = (md.get("wavelength_units") or "nm").lower()
        out[b] = nm * 1000.0 if units.startswith(("µm", "um", "micro")) else nm
    return out


def pixel_size_m(ds):
    """The input pixel size in metres (the larger of x and y), or None without a usable georeference."""
    gt = ds.GetGeoTransform(can_return_null=True)
    if gt is None or gt == (0.0, 1.0, 0.0, 0.0, 0.0, 1.0):
        return None
    size = max(math.hypot(gt[1], gt[4]), math.hypot(gt[2], gt[5]))
    srs_wkt = ds.GetProjection()
    if not srs_wkt:
        return None
    srs = osr.SpatialReference(wkt=srs_wkt)
    if srs.IsGeographic():
        return size * METRES_PER_DEGREE
    return size * (srs.GetLinearUnits() or 1.0)


def processing_factor(ds, resolution_m):
    """Integer coarsening factor for a processing resolution in metres (0: input resolution) and a note.

    InputError when the resolution is negative or more than MAX_FACTOR input pixels: the model would see a few
    blurred pixels and call them clear.
    """
    if resolution_m is not None and resolution_m < 0:
        raise InputError(f"PROCESSING_RESOLUTION must be 0 (input resolution) or a size in metres; got "
                         f"{resolution_m:g}.")
    if not resolution_m:
        return 1, "processing at the input resolution"
    size = pixel_size_m(ds)
    if size is None:
        return 1, (f"the input has no usable georeference, so its pixel size is unknown: processing at the input "
                   f"resolution instead of {resolution_m:g} m")
    factor = max(1, int(round(resolution_m / size)))
    if factor > MAX_FACTOR:
        raise InputError(f"PROCESSING_RESOLUTION {resolution_m:g} m is too coarse for this input ({size:g} m pixels): "
                         f"the model would see {factor} x {factor} input pixels as one. Use at most "
                         f"{size * MAX_FACTOR:g} m, or 0 for the input resolution (the default is 20).")
    if factor == 1:
        return 1, f"processing at the input resolution ({size:g} m; requested {resolution_m:g} m)"
    return factor, (f"processing at {size * factor:g} m ({factor} x {factor} input pixels of {size:g} m averaged), "
                    "mask written on the input grid")


def _band_scaling(ds, bands):
    """(scale, offset) from the bands' own GDAL scale/offset metadata when all agree and one is set, else None."""
    pairs = set()
    for b in bands:
        band = ds.GetRasterBand(b)
        pairs.add((band.GetScale(), band.GetOffset()))
    if len(pairs) != 1:
        return None
    scale, offset = pairs.pop()
    scale = 1.0 if scale is None else float(scale)
    offset = 0.0 if offset is None else float(offset)
    return None if (scale, offset) == (1.0, 0.0) else (scale, offset)


def sample_reflectance_p99(ds, bands, nodata, scale, offset, grid=4, size=128):
    """99th percentile of the scaled reflectance over a grid x grid sample of small windows (valid, non-zero
    pixels of the given bands), or None when the sample holds no valid pixel. Cheap on any scene size."""
    w, h = ds.RasterXSize, ds.RasterYSize
    sw, sh = min(size, w), min(size, h)
    values = []
    for y in np.linspace(0, h - sh, grid).astype(int):
        for x in np.linspace(0, w - sw, grid).astype(int):
            win = Window(int(x), int(y), sw, sh)
            raw = np.stack([read_window(ds, b, win).astype(np.float64) for b in bands])
            ok = np.isfinite(raw).all(axis=0) & (raw != 0).any(axis=0)
            for band_raw, nd in zip(raw, nodata):
                if nd is not None and not math.isnan(nd):
                    ok &= band_raw != nd
            values.append(raw[:, ok].ravel() * scale + offset)
    ds.FlushCache()
    values = np.concatenate(values) if values else np.zeros(0)
    return float(np.percentile(values, 99)) if values.size else None


def scaling_warning(p99, scale, offset):
    """A warning line when scaled reflectance looks like another scaling (99th percentile outside
    LOW_P99..HIGH_P99), with the SCALE that would bring it to a typical 0.4; None when it looks right."""
    if p99 is None or LOW_P99 <= p99 <= HIGH_P99:
        return None
    raw = (p99 - offset) / scale
    suggested = 10.0 ** round(math.log10(0.4 / raw)) if raw > 0 else None
    hint = f" Set SCALE={suggested:g} if that is its scaling." if suggested and suggested != scale else ""
    return (f"Warning: the 99th percentile of the scaled reflectance of sampled pixels is {p99:.3g} (SCALE "
            f"{scale:g}, OFFSET {offset:g}); in a Sentinel-2 scene it lies between {LOW_P99:g} and {HIGH_P99:g}. The "
            f"input may use another scaling, and the mask would then be wrong.{hint}")


@gdal_scoped
def plan_cloud_mask(input_path, output_path, level="L1C", explicit_bands=None, model=None, scale=None,
                    offset=None, resolution_m=0.0, overlap=None, batch_size=4, threads=0, probability_path=None,
                    models_dir=model_card.MODELS_DIR):
    """Check all inputs and resolve bands, model card, scale and processing factor; raise InputError if wrong."""
    level = str(level or "L1C").upper()
    if level not in model_card.LEVELS:
        raise InputError(f"PRODUCT_LEVEL must be one of {list(model_card.LEVELS)}, not '{level}'.")
    if not output_path:
        raise InputError("No output file was given for the cloud mask.")
    check_outputs({"cloud mask output": output_path, "probability output": probability_path},
                  {"input raster": input_path})
    ds = open_raster(input_path)
    count = ds.RasterCount
    descriptions = [ds.GetRasterBand(b).GetDescription() for b in range(1, count + 1)]
    roles, how = band_mapping.map_bands(count, descriptions, _band_wavelengths(ds), explicit_bands)
    band_mapping.require_roles(roles, band_mapping.ROLES[:4], count)
    card = model_card.resolve_card(model, level, roles, models_dir)
    missing = [b for b in card.bands if b not in roles]
    if missing:
        band_mapping.require_roles(roles, card.bands, count)
    if card.product_level and card.product_level != level:
        notes_level = f"note: model '{card.id}' is for {card.product_level} data, PRODUCT_LEVEL is {level}"
    else:
        notes_level = None
    dtypes = {numpy_dtype(ds, roles[b]) for b in card.bands}
    from_metadata = _band_scaling(ds, [roles[b] for b in card.bands]) if scale is None else None
    if from_metadata is not None:
        scale = from_metadata[0]
        if offset is None:
            offset = from_metadata[1]
        scale_note = f"SCALE {scale:g} (the bands' own scale metadata)"
    elif scale is None:
        scale = 1.0 if all(d.kind == "f" for d in dtypes) else 1e-4
        scale_note = f"SCALE {scale:g} (default for {'float' if scale == 1.0 else 'integer'} input)"
    else:
        scale = float(scale)
        scale_note = f"SCALE {scale:g}"
    if not scale > 0 or not math.isfinite(scale):
        raise InputError(f"SCALE must be a positive number (reflectance = DN x SCALE + OFFSET); got {scale:g}. "
                         "Sentinel-2 DN: 0.0001; reflectance x 1000: 0.001; reflectance: 1.")
    if overlap is None:
        overlap = card.overlap
    if not 0 <= overlap < 0.5:
        raise InputError(f"OVERLAP must be from 0 to below 0.5 (a share of the tile size), not {overlap}.")
    batch_size = int(batch_size or 1)
    if batch_size < 1:
        raise InputError("BATCH_SIZE must be at least 1.")
    factor, res_note = processing_factor(ds, resolution_m)
    bands = [roles[b] for b in card.bands]
    model_card.verify_onnx(card)
    plan = CloudMaskPlan(
        input_path=str(input_path), card=card, bands=bands, roles=roles, scale=scale, offset=float(offset or 0.0),
        nodata=[band_nodata(ds, b) for b in bands], factor=factor, overlap=float(overlap), batch_size=batch_size,
        threads=int(threads or 0), width=ds.RasterXSize, height=ds.RasterYSize)
    plan.notes = [f"bands {band_mapping.describe(roles)} ({how})",
                  f"model {card.id}: {card.title} ({card.onnx_path})",
                  f"reflectance = DN x {scale_note} + OFFSET {plan.offset:g}",
                  res_note + f"; tiles of {card.tile_size} px with {plan.overlap:g} overlap, batch {batch_size}"]
    if notes_level:
        plan.notes.append(notes_level)
    warning = scaling_warning(sample_reflectance_p99(ds, bands, plan.nodata, scale, plan.offset), scale, plan.offset)
    if warning:
        plan.notes.append(warning)
    return plan


class ReflectanceReader:
    """Reads the model's bands as normalised reflectance rows on the (possibly coarser) processing grid."""

    def __init__(self, ds, plan):
        self.ds, self.plan, self.f = ds, plan, plan.factor
        self.width, self.height = ds.RasterXSize, ds.RasterYSize
        self.cw, self.ch = -(-self.width // self.f), -(-self.height // self.f)
        self.mean = np.array(plan.card.mean, np.float32)[:, None, None]
        self.std = np.array(plan.card.std, np.float32)[:, None, None]
        self.checked = False
        self.float_input = any(numpy_dtype(ds, b).kind == "f" for b in plan.bands)

    def fine_rows(self, y0, y1):
        """(bands, rows, width) reflectance and (rows, width) validity of input rows y0..y1."""
        win = Window(0, y0, self.width, y1 - y0)
        valid = np.ones((y1 - y0, self.width), bool)
        nonzero = np.zeros((y1 - y0, self.width), bool)
        out = np.empty((len(self.plan.bands), y1 - y0, self.width), np.float32)
        for i, (b, nd) in enumerate(zip(self.plan.bands, self.plan.nodata)):
            raw = read_window(self.ds, b, win)
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
            p99 = float(np.percentile(refl[:, valid], 99))
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


@gdal_scoped
def run_cloud_mask(plan, output_path, probability_path=None, progress=NULL_PROGRESS, model=None):
    """Stream the model over the raster and write the class raster (and optional cloud probability 0-100).

    model: a callable (N, bands, T, T) -> (N, classes, T, T); by default the card's ONNX model in onnxruntime.
    Returns a dict of class counts {name: pixels}. Outputs appear only if the whole run succeeds.
    The next tile row is read in a second thread while the model runs on the current one.
    """
    card = plan.card
    if model is None:
        from .onnx_model import OnnxModel

        model = OnnxModel(card, card.onnx_path, plan.threads)
    for line in plan.notes:
        progress.log(line)
    ds = open_raster(plan.input_path)
    # GDAL handles are not thread-safe: the prefetch thread reads through its own one
    reader = ReflectanceReader(open_raster(plan.input_path), plan)
    valid_reader = ReflectanceReader(ds, plan)
    tile, k = card.tile_size, len(card.classes)
    cw, ch = reader.cw, reader.ch
    ys, xs = tile_origins(ch, tile, plan.overlap), tile_origins(cw, tile, plan.overlap)
    blender = RowBlender(ch, cw, k, tile, plan.overlap)
    up = BilinearRowUpsampler(plan.height, plan.width, ch, cw, plan.factor) if plan.factor > 1 else None
    cloud = list(card.cloud_classes)
    counts = np.zeros(NODATA + 1, np.int64)
    batch = np.empty((plan.batch_size, len(plan.bands), tile, tile), np.float32)
    recent = []  # (first input row, validity) of the last strips read, for the rows being written
    progress.log(f"{len(ys)} x {len(xs)} tiles of {tile} x {tile} px on a {cw} x {ch} processing grid")

    def strip(y):
        """Model input of the tile row at y: (row indices into x_in, x_in, (first input row, validity))."""
        rows = mirror_index(np.arange(y, y + tile), ch)
        lo = int(rows.min())
        x_in, fine = reader.model_rows(lo, int(rows.max()) + 1)
        reader.ds.FlushCache()  # drop decoded input blocks from GDAL's cache: memory stays per tile row
        return rows - lo, x_in, fine

    def valid_rows(row0, n):
        """Validity of input rows row0..row0+n from the strips already read (read again only if not covered)."""
        valid = np.empty((n, plan.width), bool)
        missing = np.ones(n, bool)
        for a, v in reversed(recent):
            lo, hi = max(row0, a), min(row0 + n, a + len(v))
            if hi > lo:
                valid[lo - row0:hi - row0] = v[lo - a:hi - a]
                missing[lo - row0:hi - row0] = False
        if missing.any():
            return valid_reader.fine_rows(row0, row0 + n)[1]
        return valid

    def emit(writers, row0, probs):
        """Write finished input-grid rows row0.. from (classes, n, width) probabilities."""
        writer, prob_writer = writers
        valid = valid_rows(row0, probs.shape[1])
        classes = np.argmax(probs, axis=0).astype(np.uint8)
        classes[~valid] = NODATA
        counts[:] += np.bincount(classes.ravel(), minlength=NODATA + 1)
        writer.write(classes, 0, row0)
        if prob_writer is not None:
            p = np.rint(np.clip(probs[cloud].sum(axis=0), 0, 1) * 100).astype(np.uint8)
            p[~valid] = NODATA
            prob_writer.write(p, 0, row0)

    def run_row(writers, i, y, rows, x_in):
        """Infer all tiles of the tile row at y, blend them and write the rows that are finished."""
        inner_rows = 0 <= y and y + tile <= ch
        for b0 in range(0, len(xs), plan.batch_size):
            group = xs[b0:b0 + plan.batch_size]
            for j, x in enumerate(group):
                if inner_rows and 0 <= x and x + tile <= cw:  # plain slice, no mirroring needed
                    batch[j] = x_in[:, rows[0]:rows[0] + tile, x:x + tile]
                else:
                    batch[j] = x_in[:, rows[:, None], mirror_index(np.arange(x, x + tile), cw)[None, :]]
            out = model(batch[:len(group)])
            probs = out if card.output_kind == "probabilities" else softmax(out, axis=1)
            for x, p in zip(group, probs):
                blender.add(y, x, p)
            progress.check()
        done = blender.finish_rows(last=(i == len(ys) - 1))
        if done is not None and up is not None:
            done = up.push(*done)
        if done is not None:
            emit(writers, *done)

    writer = _class_writer(ds, output_path, card, plan)
    prob_writer = None
    try:
        if probability_path:
            prob_writer = writer_like(ds, probability_path, bands=1, dtype=np.uint8, nodata=NODATA,
                                      band_descriptions=["cloud probability (%)"], metadata={"CLOUD_MODEL": card.id})
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(strip, ys[0])
            for i, y in enumerate(ys):
                rows, x_in, fine = pending.result()
                if i + 1 < len(ys):
                    pending = pool.submit(strip, ys[i + 1])  # read ahead while the model runs
                recent[:] = (recent + [fine])[-3:]
                run_row((writer, prob_writer), i, y, rows, x_in)
                progress.update((i + 1) / len(ys))
        commit_together(writer, prob_writer)
    except BaseException:
        for w in (writer, prob_writer):
            if w is not None:
                w.abort()
        raise
    names = card.class_names
    return {(names[v] if v < len(names) else ("nodata" if v == NODATA else str(v))): int(c)
            for v, c in enumerate(counts) if c}


@gdal_scoped
def generate_cloud_mask(input_path, output_path, probability_path=None, progress=NULL_PROGRESS, model=None,
                        **options):
    """Plan (check everything) and run in one call; options are those of plan_cloud_mask."""
    plan = plan_cloud_mask(input_path, output_path, probability_path=probability_path, **options)
    return run_cloud_mask(plan, output_path, probability_path, progress, model)


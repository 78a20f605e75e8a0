"""Model cards: the shipped cards are valid and match the ukis-csmask JSON; broken cards get precise messages."""

import copy
import json
import os

import pytest

from cloud_removal.algorithms.core import model_card
from cloud_removal.algorithms.core.model_card import (
    builtin_cards,
    default_card,
    load_card,
    parse_card,
    resolve_card,
    verify_onnx,
)
from cloud_removal.algorithms.core.progress import InputError

MODELS = model_card.MODELS_DIR
HAVE_MODELS = all(c.onnx_path for c in builtin_cards() if c.default)


def good():
    with open(os.path.join(MODELS, "ukis_csmask_6b_l1c.json"), encoding="utf-8") as f:
        return json.load(f)


def test_shipped_cards_valid():
    cards = {c.id: c for c in builtin_cards()}
    assert set(cards) == {"ukis-csmask-6b-l1c", "ukis-csmask-6b-l2a", "ukis-csmask-4b-l1c", "ukis-csmask-4b-l2a",
                          "ukis-csmask-6b-l1c-int8", "s2cloudless"}
    c6 = cards["ukis-csmask-6b-l1c"]
    assert c6.bands == ["blue", "green", "red", "nir", "swir16", "swir22"]
    assert c6.tile_size == 256 and c6.overlap == 0.2 and c6.cloud_classes == [1]
    assert c6.class_names == ["clear", "cloud", "cloud shadow"]
    assert c6.colours[1] == (255, 64, 255)
    assert cards["ukis-csmask-4b-l2a"].bands == ["blue", "green", "red", "nir"]


@pytest.mark.skipif(not HAVE_MODELS, reason="models not installed (make models)")
def test_cards_match_package_json_and_sha():
    for card in builtin_cards():
        if card.source.get("package") != "ukis-csmask" or "quantised_from" in card.source:
            continue  # s2cloudless and the int8 variants: tests/core/test_mask_models.py
        with open(os.path.join(os.path.dirname(card.onnx_path), card.onnx[:-5] + ".json"), encoding="utf-8") as f:
            meta = json.load(f)
        stats = meta["data"]["dataset_statistics"]
        assert card.mean == stats["img"][0] and card.std == stats["img"][1]
        assert card.bands == stats["band_names"] and [card.tile_size] * 2 == meta["data"]["target_size"]
        assert verify_onnx(card) == card.onnx_path


def test_default_card_by_level_and_bands():
    six = {"blue": 1, "green": 2, "red": 3, "nir": 4, "swir16": 5, "swir22": 6}
    assert default_card("L1C", six).id == "ukis-csmask-6b-l1c"
    assert default_card("l2a", six).id == "ukis-csmask-6b-l2a"
    four = {k: six[k] for k in ("blue", "green", "red", "nir")}
    assert default_card("L2A", four).id == "ukis-csmask-4b-l2a"
    assert default_card("L1C", dict(four, swir16=5)).id == "ukis-csmask-4b-l1c"
    with pytest.raises(InputError, match="missing: \\['nir'\\]"):
        default_card("L1C", {"blue": 1, "green": 2, "red": 3})
    assert resolve_card("ukis-csmask-4b-l1c", "L1C", six).id == "ukis-csmask-4b-l1c"
    with pytest.raises(InputError, match="neither an existing file nor the id"):
        resolve_card("no-such-model", "L1C", six)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("format"), "'format' must be"),
    (lambda d: d.update(sha256="abc"), "64 lower-case hexadecimal"),
    (lambda d: d["input"].update(bands=["blue", "green", "ultraviolet"]), "unknown band name"),
    (lambda d: d["input"].update(mean=[0.1, 0.2]), "'mean' must be a list of 6 numbers"),
    (lambda d: d["input"]["std"].__setitem__(0, 0), "every value of 'std' must be > 0"),
    (lambda d: d["input"].update(tile_size=8), "'input.tile_size' must be an integer"),
    (lambda d: d["tiling"].update(overlap=0.5), "'tiling.overlap'"),
    (lambda d: d["classes"][1].update(value=5), "class values must be 0, 1, 2"),
    (lambda d: d["classes"][0].update(colour="green"), "colour of class 0"),
    (lambda d: d.update(cloud_classes=[7]), "'cloud_classes'"),
    (lambda d: d["output"].update(kind="softmax"), "'output.kind'"),
    (lambda d: d.update(product_level="L3"), "'product_level'"),
    (lambda d: d["input"].update(layout="NHWC"), "'input.layout' must be"),
])
def test_card_validation_messages(edit, message):
    data = copy.deepcopy(good())
    edit(data)
    with pytest.raises(InputError, match=message) as err:
        parse_card(data, "my.json")
    assert "Model card 'my.json' is invalid" in str(err.value)


def test_load_card_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_card(str(bad))
    with pytest.raises(InputError, match="Cannot read the model card"):
        load_card(str(tmp_path / "missing.json"))


def test_custom_card_missing_onnx_and_sha_mismatch(tmp_path):
    data = good()
    data["source"] = {}
    data["onnx"] = "custom.onnx"
    card_path = tmp_path / "custom.json"
    card_path.write_text(json.dumps(data))
    card = load_card(str(card_path))
    assert card.onnx_path is None
    with pytest.raises(InputError, match="was not found .*Put the ONNX file beside the card"):
        verify_onnx(card)
    (tmp_path / "custom.onnx").write_bytes(b"not a model")
    card = load_card(str(card_path))
    with pytest.raises(InputError, match="does not match its model card"):
        verify_onnx(card)


def test_onnx_path_needs_card(tmp_path):
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(InputError, match="has no model card.*m.card.json"):
        resolve_card(str(onnx), "L1C", {})
    data = good()
    (tmp_path / "m.card.json").write_text(json.dumps(data))
    card = resolve_card(str(onnx), "L1C", {})
    assert card.onnx_path == str(onnx)

"""Build algorithms/modeler/remove_clouds.model3: Generate Cloud Mask -> Reclassify -> SLRA, laid out for reading.

Run with `make model3` (headless QGIS with the provider registered). A test checks the committed file matches.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_HASH_SEED", "0")  # stable XML attribute order, so rebuilds diff cleanly
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "build" / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from qgis.core import (  # noqa: E402
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QPointF  # noqa: E402
from qgis_headless import start  # noqa: E402

from cloud_removal.algorithms.help import description_html, parameter_help  # noqa: E402

HELP_URL = "https://github.com/cloud-removal/qgis-cloud-removal#the-whole-workflow-remove-clouds-cloudremovalremoveclouds"
CLASSES = ["Clouds", "Clouds and cloud shadows"]
REMAP_EXPRESSION = ("concat(if(@classes_to_remove = 0, '1 1;2 0', '1 1;2 1'), "
                    "if(@fill_nodata, ';NODATA 1', ''))")


def add_input(model, param, x, y):
    model.addModelParameter(param, _placed(QgsProcessingModelParameter(param.name()), x, y))


def _placed(component, x, y):
    component.setPosition(QPointF(x, y))
    return component


def child(model, child_id, alg_id, description, x, y, sources, outputs):
    """Add a child algorithm; sources: {param: source}, outputs: {child output: (name, description, x, y,
    mandatory)}."""
    c = QgsProcessingModelChildAlgorithm(alg_id)
    c.setChildId(child_id)
    c.setDescription(description)
    c.setPosition(QPointF(x, y))
    for param, source in sources.items():
        c.addParameterSources(param, [source])
    for definition in c.algorithm().parameterDefinitions():  # mandatory ones keep the algorithm's defaults
        optional = definition.flags() & QgsProcessingParameterDefinition.FlagOptional
        if definition.name() not in sources and not definition.isDestination() and not optional:
            c.addParameterSources(definition.name(), [
                QgsProcessingModelChildParameterSource.fromStaticValue(definition.defaultValue())])
    model_outputs = {}
    for out_name, (name, desc, ox, oy, mandatory) in outputs.items():
        o = _placed(QgsProcessingModelOutput(name, desc), ox, oy)
        o.setMandatory(mandatory)
        if not mandatory:  # left out, the intermediate goes to a temporary file
            o.setDefaultValue("TEMPORARY_OUTPUT")
        o.setChildId(child_id)
        o.setChildOutputName(out_name)
        model_outputs[name] = o
    c.setModelOutputs(model_outputs)
    model.addChildAlgorithm(c)


def build():
    """The Remove Clouds model as a QgsProcessingModelAlgorithm."""
    param = QgsProcessingModelChildParameterSource.fromModelParameter
    output = QgsProcessingModelChildParameterSource.fromChildOutput
    model = QgsProcessingModelAlgorithm("Remove Clouds (mask, reclassify, fill)", "Cloud removal", "cloudremoval")
    model.setHelpContent({
        "ALG_DESC": description_html("removeclouds"),
        "ALG_CREATOR": "Cloud Removal contributors",
        "ALG_HELP_CREATOR": "Cloud Removal contributors",
        "ALG_VERSION": "0.1",
        "HELP_URL": HELP_URL,  # the dialog's Help button, also in a user's copy
        **parameter_help("removeclouds"),  # the inputs' and outputs' help: algorithms/help/removeclouds.md
    })
    from cloud_removal.algorithms.core.cloud_mask_plan import MAX_OFFSET
    from cloud_removal.algorithms.core.slra_raster import DEFAULT_BUFFER, MAX_BUFFER

    level = QgsProcessingParameterEnum("product_level", "Product level", ["L1C", "L2A"], defaultValue=0)
    classes = QgsProcessingParameterEnum("classes_to_remove", "Classes to remove", CLASSES, defaultValue=1)
    fill_nodata = QgsProcessingParameterBoolean("fill_nodata", "Also fill the cloudy image's nodata gaps",
                                                defaultValue=False)
    scale = QgsProcessingParameterNumber("reflectance_scale", "Reflectance scale",
                                         QgsProcessingParameterNumber.Double, None, optional=True)
    offset = QgsProcessingParameterNumber("reflectance_offset", "Offset (S2 from 2022: -0.1)",
                                          QgsProcessingParameterNumber.Double, None, optional=True,
                                          minValue=-MAX_OFFSET, maxValue=MAX_OFFSET)
    window = QgsProcessingParameterNumber("window_size", "Size of window (pixels, multiple of 20)",
                                          QgsProcessingParameterNumber.Integer, 80, minValue=20, maxValue=2000)

    buffer = QgsProcessingParameterNumber("buffer", "Buffer mask (pixels)", QgsProcessingParameterNumber.Integer,
                                          DEFAULT_BUFFER, minValue=0, maxValue=MAX_BUFFER)
    for i, p in enumerate([QgsProcessingParameterRasterLayer("cloudy_image", "Cloudy image"),
                           QgsProcessingParameterRasterLayer("replacement_image", "Replacement image"),
                           level, scale, offset, classes, fill_nodata, window, buffer]):
        add_input(model, p, 120 + 200 * (i % 5), 40 + 70 * (i // 5))
    child(model, "mask", "cloudremoval:generatecloudmask", "Generate Cloud Mask", 220, 260,
          {"INPUT": param("cloudy_image"), "PRODUCT_LEVEL": param("product_level"),
           "SCALE": param("reflectance_scale"), "OFFSET": param("reflectance_offset")},
          {"OUTPUT": ("cloud_classes", "Cloud classes", 470, 260, False)})
    child(model, "reclassify", "cloudremoval:reclassifycloudtypes", "Reclassify Cloud Types", 220, 380,
          {"INPUT": output("mask", "OUTPUT"),
           "REMAP": QgsProcessingModelChildParameterSource.fromExpression(REMAP_EXPRESSION)},
          {"OUTPUT": ("cloud_mask", "Cloud mask", 470, 380, False)})
    child(model, "fill", "cloudremoval:stepwiselocalradiometricadjustment",
          "Stepwise Local Radiometric Adjustment", 220, 500,
          {"INPUT": param("cloudy_image"), "REPLACEMENT": param("replacement_image"),
           "MASK": output("reclassify", "OUTPUT"), "WINDOW_SIZE": param("window_size"),
           "BUFFER": param("buffer")},
          {"OUTPUT": ("cloud_free", "Cloud-free image", 470, 500, True)})
    model.updateDestinationParameters()
    return model


def main(path):
    app, provider = start(processing=False)
    model = build()
    ok, errors = model.validate()
    if not ok:
        raise SystemExit("model does not validate: " + "; ".join(errors))
    if not model.toFile(str(path)):
        raise SystemExit(f"cannot write {path}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ROOT / "algorithms" / "modeler" / "remove_clouds.model3")

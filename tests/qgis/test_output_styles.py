"""Outputs loaded by Processing are styled by a layer post-processor: class rasters with exactly their named
classes, probabilities with a 0-100 % ramp, filled images like their input (the desktop test checks the same in
the real QGIS window)."""

import numpy as np

from conftest import write_raster

T37 = "s2_t37mem_timeseries"


def run_loaded(alg_id, params, outputs):
    """processing.run with the given outputs marked for loading into the project; returns the context."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProcessingOutputLayerDefinition, QgsProject

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    params = dict(params)
    for name in outputs:
        params[name] = QgsProcessingOutputLayerDefinition(params[name], QgsProject.instance())
    processing.run(alg_id, params, context=context, feedback=QgsProcessingFeedback())
    return context


def loaded(context, path):
    """The layer as Processing would load it, after its post-processor ran."""
    from qgis.core import QgsRasterLayer

    details = context.layerToLoadOnCompletionDetails(path)
    layer = QgsRasterLayer(path, "out", "gdal")
    assert details.postProcessor() is not None
    details.postProcessor().postProcessLayer(layer, context, None)
    return layer


def legend(layer):
    return [(label, colour.name()) for label, colour in layer.renderer().legendSymbologyItems()]


def test_cloud_mask_classes_and_probability(run_alg, data_dir, tmp_path):
    cloudy = str(data_dir / T37 / "S2_T37MEM_20200101_sref20m.tif")
    out, prob = str(tmp_path / "classes.tif"), str(tmp_path / "prob.tif")
    context = run_loaded("cloudremoval:generatecloudmask", {"INPUT": cloudy, "PRODUCT_LEVEL": 1, "SCALE": 0.001,
                                                            "OUTPUT": out, "OUTPUT_PROBABILITY": prob},
                         ["OUTPUT", "OUTPUT_PROBABILITY"])
    classes = loaded(context, out)
    assert classes.renderer().type() == "paletted"
    assert legend(classes) == [("clear", "#3c9b3c"), ("cloud", "#ff40ff"), ("cloud shadow", "#8c5a00")]
    probability = loaded(context, prob)
    assert probability.renderer().type() == "singlebandpseudocolor"
    assert [label for label, _ in legend(probability)] == ["0 %", "25 %", "50 %", "75 %", "100 %"]


def test_binary_mask_and_filled_image(run_alg, data_dir, tmp_path):
    cloudy = str(data_dir / T37 / "S2_T37MEM_20200101_sref20m.tif")
    clear = str(data_dir / T37 / "S2_T37MEM_20190615_sref20m.tif")
    classes = write_raster(tmp_path / "c.tif", np.array([[0, 1], [2, 1]], np.uint8))
    mask = str(tmp_path / "mask.tif")
    context = run_loaded("cloudremoval:reclassifycloudtypes", {"INPUT": classes, "REMAP": "1 1;2 1",
                                                               "OUTPUT": mask}, ["OUTPUT"])
    assert legend(loaded(context, mask)) == [("clear", "#c8c8c8"), ("cloud", "#ff40ff")]
    run_alg("cloudremoval:generatecloudmask", {"INPUT": cloudy, "PRODUCT_LEVEL": 1, "SCALE": 0.001,
                                               "OUTPUT": str(tmp_path / "cm.tif")})
    run_alg("cloudremoval:reclassifycloudtypes", {"INPUT": str(tmp_path / "cm.tif"), "OUTPUT": str(tmp_path / "m.tif"),
                                                  "REMAP": "1 1;2 1"})
    free = str(tmp_path / "free.tif")
    context = run_loaded("cloudremoval:stepwiselocalradiometricadjustment", {
        "INPUT": cloudy, "REPLACEMENT": clear, "MASK": str(tmp_path / "m.tif"), "WINDOW_SIZE": 40, "OUTPUT": free},
        ["OUTPUT"])
    from qgis.core import QgsRasterLayer

    layer, source = loaded(context, free), QgsRasterLayer(cloudy, "in", "gdal")
    assert layer.renderer().type() == source.renderer().type() == "multibandcolor"
    assert [layer.renderer().redBand(), layer.renderer().greenBand(), layer.renderer().blueBand()] == \
        [source.renderer().redBand(), source.renderer().greenBand(), source.renderer().blueBand()]


def test_no_style_when_nothing_is_loaded(run_alg, data_dir, tmp_path):
    """processing.run without loading: no post-processor is kept (nothing to style)."""
    from cloud_removal.algorithms import styles

    before = dict(styles._ALIVE)
    run_alg("cloudremoval:reclassifycloudtypes", {
        "INPUT": write_raster(tmp_path / "c.tif", np.array([[0, 1]], np.uint8)), "OUTPUT": str(tmp_path / "m.tif")})
    assert styles._ALIVE == before

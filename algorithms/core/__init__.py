"""QGIS-free numeric core of the Cloud Removal plugin (numpy, scipy, GDAL, onnxruntime only)."""

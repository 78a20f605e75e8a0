# Cloud Removal QGIS plugin: setup, tests, demo, benchmarks and packaging.
# `make demo` and `make test` each do everything on a fresh Debian 12 machine (setup included).

PY        ?= /usr/bin/python3
ROOT      := $(abspath .)
BUILD     := $(ROOT)/build
PLUGINS   := $(BUILD)/plugins
PLUGIN    := cloud_removal
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PIP       := $(PY) -m pip install --user --break-system-packages --quiet --disable-pip-version-check
APT_PKGS  := qgis python3-qgis qgis-providers python3-gdal gdal-bin python3-pip python3-venv \
             python3-scipy python3-numpy xvfb
export QT_QPA_PLATFORM := offscreen
export PYTHONWARNINGS  := ignore::DeprecationWarning


.PHONY: screenshots model3 readme
.PHONY: setup apt pip link check models test test-qgis340 test-qgis344 debian-root-prereqs test-core lint package bench demo clean

## setup: install QGIS (Debian apt) and the Python packages, link the plugin; idempotent
setup: apt pip link check models

apt:
	@if dpkg -s $(APT_PKGS) >/dev/null 2>&1; then echo "apt: QGIS packages present"; else \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q \
	  --no-install-recommends $(APT_PKGS); fi

pip:
	$(PIP) -r requirements.txt -r tests/requirements.txt "numpy<2"

link:
	@mkdir -p $(PLUGINS) && ln -sfn $(ROOT) $(PLUGINS)/$(PLUGIN)

## check: the environment works (numpy < 2 beside Debian's GDAL and scipy, onnxruntime, QGIS)
check:
	@$(PY) -c "import numpy, scipy.ndimage, onnxruntime, qgis.core; from osgeo import gdal, gdal_array; \
	assert int(numpy.__version__.split('.')[0]) < 2, 'numpy 2 breaks Debian GDAL/scipy'; \
	print('setup ok: QGIS', qgis.core.Qgis.QGIS_VERSION, '| GDAL', gdal.__version__, '| numpy', numpy.__version__, \
	'| onnxruntime', onnxruntime.__version__)"

## models: the ukis-csmask 1.0.0 ONNX models and their JSON from PyPI (wheel sha256 pinned) into models/ukis_csmask/
UKIS_WHEEL  := ukis_csmask-1.0.0-py3-none-any.whl
UKIS_SHA256 := 898d6efe59b3908ec92aabad3f61a56394ff81d997a2ebe5675732503a18d1f1
## ... then s2cloudless 1.7.3's LightGBM model converted to models/s2cloudless_v0.1.onnx (wheel sha256 pinned; build-time
## tools pinned, numpy kept as installed) and the int8 variant of the default ukis model (models/*_int8.onnx)
S2C_WHEEL   := s2cloudless-1.7.3-py3-none-any.whl
S2C_SHA256  := bd8ea8f21df724e77ed48592bfce1c49f4093aebe3561f88c9a276cd14c934bf
MODEL_TOOLS := lightgbm==4.7.0 onnxmltools==1.16.0 onnxconverter-common==1.16.0 onnx==1.23.2
KEEP_NUMPY   = "numpy==$$($(PY) -c 'import numpy; print(numpy.__version__)')"
models:
	@if [ -f models/ukis_csmask/model_6b_l1c.onnx ] && [ -f models/ukis_csmask/model_4b_l2a.onnx ]; then \
	  echo "models: ukis-csmask models present"; else \
	  mkdir -p $(BUILD)/wheels && \
	  { [ -f $(BUILD)/wheels/$(UKIS_WHEEL) ] || $(PY) -m pip download --quiet --disable-pip-version-check \
	    --no-deps --only-binary=:all: -d $(BUILD)/wheels ukis-csmask==1.0.0; } && \
	  echo "$(UKIS_SHA256)  $(BUILD)/wheels/$(UKIS_WHEEL)" | sha256sum --check --quiet - && \
	  $(PY) -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  names = [n for n in z.namelist() if n.startswith('ukis_csmask/') and n.endswith(('.onnx', '.json'))]; \
	  [z.extract(n, 'models') for n in names]; \
	  open('models/ukis_csmask/LICENSE', 'wb').write(z.read('ukis_csmask-1.0.0.dist-info/licenses/LICENSE')); \
	  print('models: extracted', len(names), 'files to models/ukis_csmask/')" $(BUILD)/wheels/$(UKIS_WHEEL); fi
	@if [ -f models/s2cloudless_v0.1.onnx ]; then echo "models: s2cloudless ONNX present"; else \
	  mkdir -p $(BUILD)/wheels && \
	  { [ -f $(BUILD)/wheels/$(S2C_WHEEL) ] || $(PY) -m pip download --quiet --disable-pip-version-check \
	    --no-deps --only-binary=:all: -d $(BUILD)/wheels s2cloudless==1.7.3; } && \
	  echo "$(S2C_SHA256)  $(BUILD)/wheels/$(S2C_WHEEL)" | sha256sum --check --quiet - && \
	  { $(PY) -c "import lightgbm, onnxmltools, onnx" 2>/dev/null || $(PIP) $(MODEL_TOOLS) $(KEEP_NUMPY); } && \
	  $(PY) tools/build_s2cloudless_onnx.py $(BUILD)/wheels/$(S2C_WHEEL) models/s2cloudless_v0.1.onnx \
	    --card models/s2cloudless.json; fi
	@if [ -f models/ukis_csmask_6b_l1c_int8.onnx ]; then echo "models: int8 ukis-csmask present"; else \
	  { $(PY) -c "import onnx" 2>/dev/null || $(PIP) $(MODEL_TOOLS) $(KEEP_NUMPY); } && \
	  $(PY) tools/quantise_ukis_int8.py models/ukis_csmask_6b_l1c.json; fi

## test: setup, then every test (core, processing.run, qgis_process)
test: setup
	$(PY) -m pytest -c tests/pytest.ini tests

## test-qgis340 / test-qgis344: every test on QGIS 3.40 (Debian 13 trixie: Python 3.13, numpy 2) or QGIS 3.44
## (Debian testing forky), in a root made once under build/<suite> by tools/debian_qgis_root.sh (root or sudo).
## PYTEST_ARGS="tests/core -x" narrows it.
test-qgis340: debian-root-prereqs
	$(SUDO) env QGIS_SUITE=trixie tools/debian_qgis_root.sh $(PYTEST_ARGS)

test-qgis344: debian-root-prereqs
	$(SUDO) env QGIS_SUITE=forky tools/debian_qgis_root.sh $(PYTEST_ARGS)

debian-root-prereqs:
	@$(PY) -m pip --version >/dev/null 2>&1 || { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  $(SUDO) apt-get install -y -q --no-install-recommends python3-pip; }
	@$(MAKE) --no-print-directory models

test-core: link
	$(PY) -m pytest -c tests/pytest.ini tests/core

lint:
	$(PY) -m ruff check .

## package: a zip that QGIS's "Install from ZIP" accepts (plugin folder cloud_removal/), built from the working
## tree (tracked and new files that git does not ignore), so what you test is what you package. DIST=folder.
DIST ?= $(ROOT)/dist
PACKAGE_PATHS := metadata.txt __init__.py plugin.py batch.py algorithms models icons README.md LICENSE requirements.txt
package:
	@mkdir -p $(DIST)
	@git ls-files --cached --others --exclude-standard -- $(PACKAGE_PATHS) | $(PY) -c "import sys, zipfile, os; \
	files = sorted({l.strip() for l in sys.stdin if l.strip() and os.path.isfile(l.strip())}); \
	z = zipfile.ZipFile(sys.argv[1] + '.tmp', 'w', zipfile.ZIP_DEFLATED); \
	[z.write(f, '$(PLUGIN)/' + f) for f in files]; z.close(); os.replace(sys.argv[1] + '.tmp', sys.argv[1]); \
	print('wrote', sys.argv[1], '(%d files from the working tree)' % len(files))" $(DIST)/$(PLUGIN).zip

## bench: performance tables (no timed assertions in tests)
## SLRA_BENCH=--full (default) includes the full 10980 x 10980 x 4 fill (about 6 min and 1.8 GB of inputs and output
## under build/bench); SLRA_BENCH= leaves it out.
SLRA_BENCH ?= --full
bench: setup
	$(PY) tools/bench/bench_reclassify.py
	$(PY) tools/bench/bench_cloud_mask.py --threads 2
	$(PY) tools/bench/bench_shadow_check.py --threads 2
	$(PY) tools/bench/bench_slra.py $(SLRA_BENCH)
	$(PY) tools/bench/bench_multi_date.py
	-$(PIP) s2cloudless==1.7.3 "opencv-python-headless<4.11" $(KEEP_NUMPY)
	$(PY) tools/bench/bench_mask_models.py --threads 2
	$(PY) tools/bench/bench_batch.py

## demo: run the workflow on the bundled sample data through qgis_process
demo: setup
	$(PY) tools/demo/run_demo.py
	$(PY) tools/demo/cloud_mask_quicklook.py

## screenshots: each algorithm's Processing dialog, captured headless, in build/screenshots; the real desktop
## (Xvfb, scratch profile, the packaged zip installed) with the Toolbox, the Modeler and the loaded outputs in
## docs/screenshots (shown in the README)
screenshots: setup
	$(PY) tools/screenshots.py $(BUILD)/screenshots
	$(PY) tools/desktop/session.py $(BUILD)/desktop_session.json --shots $(ROOT)/docs/screenshots

## readme: write each algorithm's help (algorithms/help/<id>.md) into its README section
readme:
	$(PY) tools/readme_help.py

## model3: rebuild algorithms/modeler/remove_clouds.model3 from tools/build_remove_clouds_model.py
model3: link
	$(PY) tools/build_remove_clouds_model.py

clean:
	@! grep -qs " $(BUILD)/" /proc/mounts || { $(SUDO) env QGIS_SUITE=trixie tools/debian_qgis_root.sh --unmount; \
	  $(SUDO) env QGIS_SUITE=forky tools/debian_qgis_root.sh --unmount; }
	rm -rf $(BUILD) dist

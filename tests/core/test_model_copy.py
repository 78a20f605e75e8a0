"""Edit a Copy in the Modeler: the shipped model is copied into the user's models folder without overwriting."""

from cloud_removal.algorithms.model_copy import copy_model
from conftest import ROOT

MODEL = ROOT / "algorithms" / "modeler" / "remove_clouds.model3"


def test_copy_into_a_new_folder(tmp_path):
    folder = tmp_path / "processing" / "models"
    path = copy_model(str(MODEL), str(folder))
    assert path == str(folder / "remove_clouds.model3")
    assert (folder / "remove_clouds.model3").read_bytes() == MODEL.read_bytes()


def test_an_identical_copy_is_reused(tmp_path):
    first = copy_model(str(MODEL), str(tmp_path))
    assert copy_model(str(MODEL), str(tmp_path)) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["remove_clouds.model3"]


def test_a_users_file_of_the_same_name_is_never_overwritten(tmp_path):
    mine = tmp_path / "remove_clouds.model3"
    mine.write_text("my edited model")
    (tmp_path / "remove_clouds (2).model3").write_text("another of mine")
    path = copy_model(str(MODEL), str(tmp_path))
    assert path == str(tmp_path / "remove_clouds (3).model3")
    assert mine.read_text() == "my edited model"
    assert (tmp_path / "remove_clouds (2).model3").read_text() == "another of mine"
    assert (tmp_path / "remove_clouds (3).model3").read_bytes() == MODEL.read_bytes()


def test_open_copy_without_the_models_provider_folder(qgis_app, tmp_path):
    """A folder the Models provider does not read: the copy is still opened from its file, ready to save."""
    from cloud_removal.algorithms.model_copy import open_copy_in_modeler

    path, dialog = open_copy_in_modeler(str(MODEL), folder=str(tmp_path), show=False)
    assert path == str(tmp_path / "remove_clouds.model3") and dialog is None

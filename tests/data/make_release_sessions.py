"""Write the .glu sessions that tests/test_sessions.py restores, with the glue-xai installed now.

Run it once per release from the released code, keeping the earlier releases' files:

    QT_QPA_PLATFORM=offscreen GLUE_TESTING=True python tests/data/make_release_sessions.py

* ``xai_viewer_<version>.glu``: a FIRST demo cutout in an XAI Image Viewer with every
  explanation setting away from its default and a circular region on the source;
* ``xai_model_file_<version>.glu``: the same cutout explained by a model loaded from a
  file, with one of that model's own classes ("compact") picked. The file is deleted
  afterwards, as a user's moved or deleted model file is.

The data are stored in the sessions, so they restore anywhere.
"""
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_FILE = "100_166.713+014.203_0.0451_0199.52.fits"
VIEWER_SETTINGS = dict(method="lime", target="FRII", lime_samples=120, segmentation="felzenszwalb", n_segments=40,
                       segment_scale=80.0, smoothgrad_samples=7, noise_level=0.3, ig_steps=9,
                       gradient_output="logit", seed=11)
MODEL_FILE_CLASSES = ("compact", "extended")


def _viewer_with_region(app, data):
    from glue.core.roi import CircularROI
    from glue.core.subset import RoiSubsetState

    from glue_xai.qt.image_viewer import XAIImageViewer

    app.data_collection.append(data)
    viewer = app.new_data_viewer(XAIImageViewer, data=data)
    state = RoiSubsetState(data.pixel_component_ids[1], data.pixel_component_ids[0], CircularROI(74.5, 74.5, 40.0))
    app.data_collection.new_subset_group("source", state)
    return viewer


def main():
    from glue.core.data_factories import load_data
    from glue_qt.app import GlueApplication

    import glue_xai as gx
    from glue_xai.data.demo import demo_folder
    from glue_xai.models import save_model

    gx.setup()
    version = gx.__version__

    app = GlueApplication()
    data = load_data(str(demo_folder() / DEMO_FILE))
    viewer = _viewer_with_region(app, data)
    for name, value in VIEWER_SETTINGS.items():
        setattr(viewer.state, name, value)
    app.save_session(str(HERE / f"xai_viewer_{version}.glu"), include_data=True)
    viewer.close(warn=False)
    app.close()

    model = gx.load_model("mirabest-fr")
    model.card.name = "compact-or-extended"
    model.card.classes = MODEL_FILE_CLASSES
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "compact_or_extended.pt"
        save_model(model, path)
        app = GlueApplication()
        viewer = _viewer_with_region(app, load_data(str(demo_folder() / DEMO_FILE)))
        viewer.state.method = "saliency"
        assert viewer.load_model_file(path)
        viewer.state.target = MODEL_FILE_CLASSES[0]
        app.save_session(str(HERE / f"xai_model_file_{version}.glu"), include_data=True)
        viewer.close(warn=False)
        app.close()
    print(f"wrote the glue-xai {version} sessions in {HERE}")


if __name__ == "__main__":
    sys.exit(main())

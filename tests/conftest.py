"""Test set-up: no display, no modal dialogs, and the shared MiraBest data beside the checkout."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLUE_TESTING", "True")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

MIRABEST = Path(os.environ.get("GLUE_XAI_MIRABEST", Path(__file__).resolve().parents[2] / "shared" / "data" / "mirabest"))


@pytest.fixture(scope="session")
def mirabest_root():
    if not (MIRABEST / "batches").is_dir():
        pytest.fail(f"the shared MiraBest data is missing at {MIRABEST}: tests need ../shared beside the checkout "
                    "(or GLUE_XAI_MIRABEST)")
    return MIRABEST


@pytest.fixture(scope="session")
def reference_model():
    import glue_xai as gx

    return gx.load_model("mirabest-fr")


@pytest.fixture(scope="session")
def agn_model():
    """The shipped AGN spectrum classifier."""
    from glue_xai.models.spectral import load_spectrum_model

    return load_spectrum_model("agn-spectra")


@pytest.fixture
def app(qapp):
    """A headless glue application with the plugin set up; its viewers are closed afterwards."""
    from glue_qt.app import GlueApplication

    import glue_xai as gx

    gx.setup()
    application = GlueApplication()
    yield application
    for viewer in list(application.viewers[0]):
        viewer.close(warn=False)
    application.close()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests, restored after: on the shared two-core
    machine torch's two threads ran the galaxy models 14x slower than one. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


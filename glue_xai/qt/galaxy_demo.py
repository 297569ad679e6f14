"""The glue session behind ``glue-xai demo --galaxies``: simulated barred galaxies, explained.

Galaxies never seen in training (their own seed) are simulated with GalSim on the spot
(:mod:`glue_xai.data.galaxies`, about a second) into one dataset whose components ``g``,
``r`` and ``z`` are stacks of cutouts, so the 3-band models take their bands from the
components of the same name. Both viewers show the bands as a colour image (g blue,
r green, z red: glue's *One color per layer* display), as optical astronomers look at
g, r, z images; the *Show* option switches to one band in grey. One XAI viewer shows why ``galaxy-bars`` calls a galaxy
barred (integrated gradients, with each band's share in the legend), on the first barred
galaxy; the other shows ``galaxy-bt-sfnet``'s bulge-to-total ratio as the sum of its
sparse features, on the first galaxy with a bulge. The truth
of every galaxy (barred, bar length and angle, bulge-to-total) is in a table.
"""
from glue_xai.qt.demo import arrange_demo, run_session

#: Not the training set's seed (0): these galaxies were never trained or tuned on.
DEMO_SEED = 20261201
N_DEMO_GALAXIES = 24
BAR_METHOD = "integrated_gradients"


#: The bulge-to-total viewer opens on the first galaxy with at least this much bulge.
DEMO_MIN_BULGE_TO_TOTAL = 0.2


def bulgy_galaxy(truth):
    """Index of the galaxy the bulge-to-total viewer opens on: the first with a bulge
    (B/T >= DEMO_MIN_BULGE_TO_TOTAL), else the first. On a galaxy without one (the first
    barred galaxy has B/T 0.02) the SFNet answers about 0 from tiny contributions whose
    largest can sit anywhere, even by the image's edge: a map that shows nothing."""
    import numpy as np

    bulgy = np.flatnonzero(np.asarray(truth["bulge_to_total"], float) >= DEMO_MIN_BULGE_TO_TOTAL)
    return int(bulgy[0]) if len(bulgy) else 0


def build_galaxy_demo(app, n=N_DEMO_GALAXIES, seed=DEMO_SEED):
    """Fill ``app`` with simulated galaxies, their truth and two XAI viewers; returns the viewers."""
    import numpy as np
    from glue.core import Data
    from glue.core.roi import RectangularROI
    from glue.core.subset import RoiSubsetState
    from glue_qt.viewers.table import TableViewer

    from glue_xai.data.galaxies import simulate_galaxies
    from glue_xai.qt.image_viewer import XAIImageViewer

    images, truth = simulate_galaxies(n, seed=seed)
    cube = Data(label="simulated galaxies (g, r, z)", g=images[:, 0], r=images[:, 1], z=images[:, 2])
    table = Data(label="simulated galaxies: truth", **{name: np.asarray(truth[name]) for name in truth.colnames})
    app.data_collection.append(cube)
    app.data_collection.append(table)
    # Any pixel of a cutout selects it: the whole cutout is explained (a stack of cutouts).
    size = images.shape[-1]
    whole = RoiSubsetState(cube.pixel_component_ids[2], cube.pixel_component_ids[1],
                           RectangularROI(-0.5, size - 0.5, -0.5, size - 0.5))
    app.data_collection.new_subset_group(label="galaxy", subset_state=whole)
    barred = int(np.flatnonzero(np.asarray(truth["barred"]))[0])
    viewers = []
    for model, method, shown in (("galaxy-bars", BAR_METHOD, barred),
                                 ("galaxy-bt-sfnet", "features", bulgy_galaxy(truth))):
        viewer = app.new_data_viewer(XAIImageViewer, data=cube)
        viewer.state.model = model
        viewer.state.method = method
        viewer.state.slices = (shown, 0, 0)
        viewer.show_bands_in_colour()
        viewers.append(viewer)
    app.new_data_viewer(TableViewer, data=table)
    arrange_demo(app)
    return viewers


def run_galaxy_demo(screenshot=None):
    """Open glue on the simulated galaxies; with ``screenshot``, render to that PNG and exit."""
    return run_session(build_galaxy_demo, screenshot)

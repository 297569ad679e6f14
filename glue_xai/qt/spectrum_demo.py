"""A glue session with synthetic AGN spectra, their saliency and a t-SNE catalogue.

    python -m glue_xai.qt.spectrum_demo                      # opens glue
    python -m glue_xai.qt.spectrum_demo --screenshot demo.png

One source of each type is selected in the catalogue, so the spectrum viewer shows
their spectra and saliency; select others in the t-SNE scatter plot.
"""
import argparse


def build_spectrum_demo(app, n_per_type=20, seed=0, method="saliency"):
    """Add spectra, saliency and catalogue to ``app`` and open the viewers; returns them."""
    import numpy as np
    from glue_qt.viewers.scatter import ScatterViewer

    from glue_xai.data.spectra import AGN_TYPES, synthetic_agn_spectra
    from glue_xai.models.spectral import load_spectrum_model
    from glue_xai.qt.spectrum_viewer import SpectrumSaliencyViewer
    from glue_xai.viewer.spectrum_data import add_saliency, link_catalogue, spectra_catalogue, spectra_data

    model = load_spectrum_model("agn-spectra")
    sample = synthetic_agn_spectra(n_per_type, seed=seed)
    spectra = spectra_data(sample.flux, sample.wavelength, label="AGN spectra")
    add_saliency(spectra, model, method=method, seed=seed)
    catalogue = spectra_catalogue(sample.flux, sample.wavelength, model=model, seed=seed,
                                  true_types=sample.class_names, label="AGN catalogue")
    app.data_collection.extend([spectra, catalogue])
    link_catalogue(catalogue, spectra)

    scatter = app.new_data_viewer(ScatterViewer, data=catalogue)
    scatter.state.x_att = catalogue.id["tsne_x"]
    scatter.state.y_att = catalogue.id["tsne_y"]
    viewer = app.new_data_viewer(SpectrumSaliencyViewer, data=spectra)
    for name in AGN_TYPES:
        first = int(np.flatnonzero(sample.labels == AGN_TYPES.index(name))[0])
        app.data_collection.new_subset_group(label=f"a {name}",
                                             subset_state=catalogue.id["source_index"] == first)
    # the whole stack's mean would crowd the picture; the selected sources are the point
    for layer in viewer.state.layers:
        if layer.layer is spectra:
            layer.visible = False
    viewer.state.reset_limits()
    return viewer, scatter


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", help="save the spectrum viewer as this PNG and exit")
    parser.add_argument("--per-type", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", default="saliency")
    args = parser.parse_args(argv)

    import torch
    from glue_qt.app import GlueApplication

    torch.set_num_threads(1)
    app = GlueApplication()
    viewer, _ = build_spectrum_demo(app, args.per_type, args.seed, args.method)
    if args.screenshot:
        viewer.figure.set_size_inches(11, 4.5)
        viewer.figure.savefig(args.screenshot, dpi=100)
        app.close()
        return
    app.start(maximized=False)


if __name__ == "__main__":
    main()

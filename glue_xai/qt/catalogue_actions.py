"""glue menu entries (Plugins menu) for catalogue-linked browsing."""
from qtpy import QtWidgets

__all__ = ["register_catalogue_actions", "MENU_ENTRIES"]


def _parent(session):
    return getattr(session, "application", None)


def build_stack(session, data_collection):
    """Plugins > Cutout stack from a catalogue..."""
    from glue_xai.qt.catalogue_dialog import CatalogueStackDialog

    CatalogueStackDialog(data_collection, parent=_parent(session)).exec_()


def explain_catalogue(session, data_collection):
    """Plugins > Classify and explain a catalogue..."""
    from glue_xai.qt.catalogue_explain import ExplainCatalogueDialog

    dialog = ExplainCatalogueDialog(session, data_collection, parent=_parent(session))
    dialog.show()
    return dialog


def browse_selection(session, data_collection):
    """Plugins > Browse selected sources: for the first image viewer showing a catalogue stack."""
    from glue_xai.qt.catalogue_browser import SelectionBrowser
    from glue_xai.viewer.catalogue_stack import is_catalogue_stack

    application = _parent(session)
    viewers = [v for tab in application.viewers for v in tab] if application is not None else []
    viewers = [v for v in viewers if is_catalogue_stack(getattr(v.state, "reference_data", None))]
    if not viewers:
        QtWidgets.QMessageBox.information(application, "Browse selected sources",
                                          "Open an XAI image viewer on a cutout stack first.")
        return None
    browser = SelectionBrowser(viewers[0], data_collection, parent=application)
    browser.show()
    return browser


MENU_ENTRIES = (("Cutout stack from a catalogue...", build_stack),
                ("Classify and explain a catalogue...", explain_catalogue),
                ("Browse selected sources...", browse_selection))


def register_catalogue_actions():
    """Add the menu entries once (glue builds its Plugins menu from this registry)."""
    from glue_qt.config import menubar_plugin

    present = {label for label, _ in menubar_plugin.members}
    for label, function in MENU_ENTRIES:
        if label not in present:
            menubar_plugin.add(label, function)

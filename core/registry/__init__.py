"""The one home of model artifacts: where a version's files live, what meta.json holds, checksums, saving, loading
(checksum first, Keras with safe_mode=True), quarantine, leftover sweeps and archive bytes for remote tasks.

The store (core.store.versions) keeps the rows - which versions exist, which reservoirs each serves, which is
active - and registers a folder written here in one transaction; the pipeline, the dashboard's jobs and the daily
cycle's tasks (on any machine) all write and read versions through these functions, so the version format changes
in one place. A version serving several reservoirs adds its kind's reader in core.registry.kinds.
"""

from core.registry.archive import ArchiveError, pack_folder, unpack_into
from core.registry.artifacts import (
    ArchivedVersion,
    archived,
    check_files,
    load,
    load_archived,
    load_folder,
    write_single,
    written_record,
)
from core.registry.fleet import FLEET
from core.registry.kinds import READERS, Served
from core.registry.layout import (
    LEFTOVER_AGE_S,
    META_FILE,
    TMP_PREFIX,
    Leftovers,
    VersionFolder,
    checksums,
    fsync_tree,
    home,
    new_tmp_folder,
    quarantine,
    relative,
    stamp,
    sweep_leftovers,
    version_dir,
    version_folders,
)
from core.registry.records import SINGLE, LoadedModel, ModelVersion, VersionError, beats_active, build_meta

__all__ = [
    "LEFTOVER_AGE_S",
    "META_FILE",
    "READERS",
    "SINGLE",
    "TMP_PREFIX",
    "FLEET",
    "ArchiveError",
    "ArchivedVersion",
    "Leftovers",
    "LoadedModel",
    "ModelVersion",
    "Served",
    "VersionError",
    "VersionFolder",
    "archived",
    "beats_active",
    "build_meta",
    "check_files",
    "checksums",
    "fsync_tree",
    "home",
    "load",
    "load_archived",
    "load_folder",
    "new_tmp_folder",
    "pack_folder",
    "quarantine",
    "relative",
    "stamp",
    "sweep_leftovers",
    "unpack_into",
    "version_dir",
    "version_folders",
    "write_single",
    "written_record",
]

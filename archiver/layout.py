"""The bag layout: where each file lives in one of our bags.

A bag we write is a BagIt 1.0 bag whose payload follows an Archivematica
standard transfer (``objects/`` and ``metadata/``), so a library can load it
as a transfer as it is.  These names are the single source of truth for the
writer, the validator, the catalog and the exporter.
"""

BAGIT_VERSION = "1.0"

OBJECTS = "data/objects"
# Archivematica's convention for a curator-supplied access derivative: a file in
# objects/manualNormalization/access/ with the original's base name.
ACCESS = "data/objects/manualNormalization/access"
METADATA = "data/metadata"
METS = "data/metadata/mets.xml"
RECORD = "data/metadata/record.json"

DEFAULT_ALGORITHMS = ("sha256", "sha512")


def file_use(path: str, payload_name: str) -> str | None:
    """The METS file group (USE) of a payload file of ours, given the original's payload name; None: not one we write.

    The writer (package.build_bag) and the validator's re-rendering shortcut (ourbag) both ask this.
    """
    if path == RECORD:
        return "metadata"
    if path == f"{OBJECTS}/{payload_name}":
        return "original"
    if path == f"{ACCESS}/{payload_name}":
        return "derivative"
    return None

# Our BagIt profile (bagit-profiles 1.4).  The identifier is a name, never
# fetched: the profile ships in schemas/ and inside the package.
PROFILE_ID = "https://archiver.invalid/schemas/bagit-profile/1.0.json"
PROFILE_FILE = "bagit-profile.json"  # under schemas/

# METS @PROFILE of our METS documents; identifies "our bags" to the validator.
METS_PROFILE = "https://archiver.invalid/schemas/mets-profile/1.0"

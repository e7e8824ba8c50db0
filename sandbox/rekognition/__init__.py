"""A Rekognition-compatible endpoint for the sandbox and the tests (never for chalicelib).

``RekognitionEndpoint`` serves the operations facegate calls over the real wire protocol,
so the unmodified ``RekognitionEngine`` and boto3 reach it through
``AWS_ENDPOINT_URL_REKOGNITION``. Faces and similarities come from the bundled dlib model:
see ``service`` and ``state.similarity_from_distance`` (the scores are not AWS's).
"""

from sandbox.rekognition.server import RekognitionEndpoint

__all__ = ["RekognitionEndpoint"]

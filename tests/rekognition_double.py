"""A Rekognition endpoint double on loopback: speaks the service's JSON protocol, records calls.

Stands in for "the user's own emulator" behind ``AWS_ENDPOINT_URL_REKOGNITION``: it
answers every face in every photo as the first enrolled user at 99 %, enough to prove
that the sandbox and the handler talk to the endpoint that variable names.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.rekognition_shapes import index_faces_response, search_users_response

BOX = (0.3, 0.2, 0.4, 0.4)
Answer = tuple[int, dict[str, Any]]  # HTTP status, JSON body


class RekognitionDouble:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.collections: set[str] = set()
        self.users: list[str] = []
        self.faces: dict[str, str] = {}  # face id → user id
        # Scripted failures, answered (in order) before any real answer: (status, body).
        self.failures: list[tuple[int, dict[str, Any]]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                target = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                double.calls.append(target)
                status, answer = double.failures.pop(0) if double.failures else double.answer(target, body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, operation: str, body: dict[str, Any]) -> Answer:
        if operation == "CreateCollection":
            return self._create_collection(body)
        if body.get("CollectionId") not in self.collections:
            return 400, {"__type": "ResourceNotFoundException", "message": "no such collection"}
        operations: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "IndexFaces": self._index_faces,
            "CreateUser": self._create_user,
            "AssociateFaces": self._associate_faces,
            "ListFaces": self._list_faces,
            "DisassociateFaces": self._disassociate_faces,
            "DeleteFaces": self._delete_faces,
            "DeleteUser": self._delete_user,
            "SearchUsersByImage": self._search_users_by_image,
        }
        if operation not in operations:
            return 400, {"__type": "InvalidParameterException", "message": f"{operation} not in the double"}
        return operations[operation](body)

    def _create_collection(self, body: dict[str, Any]) -> Answer:
        if body["CollectionId"] in self.collections:
            return 400, {"__type": "ResourceAlreadyExistsException", "message": "exists"}
        self.collections.add(body["CollectionId"])
        return 200, {
            "StatusCode": 200,
            "CollectionArn": f"aws:rekognition:{body['CollectionId']}",
            "FaceModelVersion": "7.0",
        }

    def _index_faces(self, body: dict[str, Any]) -> Answer:
        face_id = str(uuid.uuid4())
        self.faces[face_id] = ""
        return 200, index_faces_response(body["ExternalImageId"], [BOX], face_id)

    def _create_user(self, body: dict[str, Any]) -> Answer:
        if body["UserId"] in self.users:
            return 400, {"__type": "ConflictException", "message": "user exists"}
        self.users.append(body["UserId"])
        return 200, {}

    def _associate_faces(self, body: dict[str, Any]) -> Answer:
        self.faces.update({face_id: body["UserId"] for face_id in body["FaceIds"]})
        return 200, {
            "AssociatedFaces": [{"FaceId": f} for f in body["FaceIds"]],
            "UnsuccessfulFaceAssociations": [],
        }

    def _list_faces(self, body: dict[str, Any]) -> Answer:
        owned = [face_id for face_id, user in self.faces.items() if user == body.get("UserId")]
        return 200, {
            "Faces": [{"FaceId": f, "UserId": body["UserId"]} for f in owned],
            "FaceModelVersion": "7.0",
        }

    def _disassociate_faces(self, body: dict[str, Any]) -> Answer:
        self.faces.update({face_id: "" for face_id in body["FaceIds"]})
        return 200, {
            "DisassociatedFaces": [{"FaceId": f} for f in body["FaceIds"]],
            "UnsuccessfulFaceDisassociations": [],
        }

    def _delete_faces(self, body: dict[str, Any]) -> Answer:
        for face_id in body["FaceIds"]:
            self.faces.pop(face_id, None)
        return 200, {"DeletedFaces": body["FaceIds"], "UnsuccessfulFaceDeletions": []}

    def _delete_user(self, body: dict[str, Any]) -> Answer:
        if body["UserId"] in self.users:
            self.users.remove(body["UserId"])
        return 200, {}

    def _search_users_by_image(self, body: dict[str, Any]) -> Answer:
        matches = [(self.users[0], 99.0)] if self.users else []
        return 200, search_users_response([BOX], matches)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""GET /v2/<name>/referrers/<digest> (spec end-12a/12b, "Listing Referrers").

The answer is an OCI image index of the manifests whose `subject` is the digest, each
described with its artifactType and annotations.  Referrers are found by scanning the
repository's manifest revisions; what each manifest says is cached by digest.
"""

from __future__ import annotations

import json

from aiohttp import web

from registry.handlers.common import DIGEST, NAME, parse_digest, repository, storage
from registry.manifest import OCI_INDEX
from registry.storage.errors import ManifestUnknown

routes = web.RouteTableDef()


@routes.get(f"/v2/{NAME}/referrers/{DIGEST}", name="referrers")
async def list_referrers(request: web.Request) -> web.Response:
    """200 with an index (empty when nothing refers to the digest); 400 for a bad digest."""
    name = repository(request)
    subject = parse_digest(request.match_info["digest"])
    wanted = request.query.get("artifactType") or None
    manifests = storage(request).manifests
    descriptors: list[dict[str, object]] = []
    for digest in await manifests.list_digests(name):
        try:
            info = await manifests.info(name, digest)
        except ManifestUnknown:
            continue  # deleted while we scanned
        if info.subject != subject or (wanted is not None and info.artifact_type != wanted):
            continue
        descriptor: dict[str, object] = {
            "mediaType": info.media_type,
            "digest": str(digest),
            "size": info.size,
        }
        if info.artifact_type:
            descriptor["artifactType"] = info.artifact_type
        if info.annotations:
            descriptor["annotations"] = dict(info.annotations)
        descriptors.append(descriptor)
    headers = {"Content-Type": OCI_INDEX}
    if wanted is not None:
        headers["OCI-Filters-Applied"] = "artifactType"
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
    # Exactly the index media type, without the charset parameter json_response would add.
    return web.Response(body=json.dumps(body).encode(), headers=headers)

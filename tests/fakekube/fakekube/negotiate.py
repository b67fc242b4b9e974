"""Accept / Content-Type parsing and the response encodings kube-apiserver offers."""


def parse_media(value):
    """'application/json;as=Table;g=meta.k8s.io;v=v1, */*' -> [(type, {params})]."""
    out = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        bits = [b.strip() for b in part.split(";")]
        params = {}
        for b in bits[1:]:
            if "=" in b:
                k, v = b.split("=", 1)
                params[k.strip().lower()] = v.strip().strip('"')
        out.append((bits[0].lower(), params))
    return out or [("*/*", {})]


def _json_like(t):
    return t in ("application/json", "*/*", "application/*", "application/json-seq")


def choose(accept, kind):
    """Pick the response form for a request.  kind: 'object', 'list' or 'watch'.
    Returns ('json', None) | ('table', apiVersion, includeObject-ignored) |
    ('partial', apiVersion) or None when nothing acceptable."""
    for t, p in parse_media(accept):
        if not _json_like(t):
            continue
        as_ = p.get("as")
        if as_ is None:
            return ("json", None)
        g, v = p.get("g"), p.get("v")
        if g != "meta.k8s.io" or v not in ("v1", "v1beta1"):
            continue
        av = "meta.k8s.io/" + v
        if as_ == "Table":
            return ("table", av)
        if as_ == "PartialObjectMetadata" and kind in ("object", "watch"):
            return ("partial", av)
        if as_ == "PartialObjectMetadataList" and kind == "list":
            return ("partial", av)
    return None


def discovery_choice(accept):
    """'v2' / 'v2beta1' for aggregated discovery, None for the legacy documents."""
    for t, p in parse_media(accept):
        if not _json_like(t):
            continue
        if p.get("as") == "APIGroupDiscoveryList" and p.get("g") == "apidiscovery.k8s.io":
            if p.get("v") in ("v2", "v2beta1"):
                return p["v"]
            continue
        if not p.get("as"):
            return None
    return None


NOT_ACCEPTABLE = ("only the following media types are accepted: application/json, "
                  "application/yaml, application/vnd.kubernetes.protobuf")

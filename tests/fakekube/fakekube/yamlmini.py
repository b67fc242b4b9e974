"""A small reader for the block-style YAML that Kubernetes manifests use (one document):
mappings, sequences, plain / quoted scalars, | and > block scalars, simple flow
collections and comments.  Anchors, tags and multi-line plain scalars are not supported."""

import json
import re

_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _scalar(s):
    s = s.strip()
    if s == "" or s in ("~", "null", "Null", "NULL"):
        return None
    if s[0] == '"':
        return json.loads(s)
    if s[0] == "'":
        return s[1:-1].replace("''", "'")
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s) and any(c.isdigit() for c in s):
        return float(s)
    if s[0] in "[{":
        return _flow(s)
    return s


def _flow(s):
    # Flow collections: turn into JSON by quoting bare words.
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in "[]{},:":
            out.append(c)
            i += 1
        elif c.isspace():
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < len(s) and s[j] != c:
                j += 2 if s[j] == "\\" and c == '"' else 1
            tok = s[i:j + 1]
            out.append(json.dumps(_scalar(tok)))
            i = j + 1
        else:
            j = i
            while j < len(s) and s[j] not in ",]}" and not (s[j] == ":" and (j + 1 == len(s) or s[j + 1] == " ")):
                j += 1
            out.append(json.dumps(_scalar(s[i:j])))
            i = j
    try:
        return json.loads("".join(out))
    except ValueError as e:
        raise ValueError("unsupported flow collection %r: %s" % (s, e))


def _strip_comment(line):
    q = None
    for i, c in enumerate(line):
        if q:
            if c == q:
                q = None
        elif c in "\"'":
            q = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _split_key(text):
    """'key: value' -> (key, value) or None."""
    if text.startswith(('"', "'")):
        q = text[0]
        j = text.index(q, 1)
        key = _scalar(text[:j + 1])
        rest = text[j + 1:]
        if rest.startswith(":") and (len(rest) == 1 or rest[1] == " "):
            return key, rest[1:].strip()
        return None
    m = re.match(r"^([^#:\[\]{},][^:]*?|[^:]*?):(\s+(.*))?$", text)
    if not m or text.startswith(("- ", "[", "{")):
        return None
    return m.group(1).strip(), (m.group(3) or "").strip()


class _Lines:
    def __init__(self, text):
        self.raw = text.split("\n")
        self.i = 0

    def peek(self):
        while self.i < len(self.raw):
            line = self.raw[self.i]
            s = _strip_comment(line)
            if s.strip() == "" or s.strip() in ("---", "..."):
                if s.strip() == "---" and any(_strip_comment(l).strip() for l in self.raw[:self.i]):
                    self.i = len(self.raw)
                    return None
                self.i += 1
                continue
            return len(s) - len(s.lstrip(" ")), s.strip()
        return None


def load(text):
    lines = _Lines(text)
    top = lines.peek()
    if top is None:
        return None
    return _node(lines, top[0])


def _node(lines, indent):
    p = lines.peek()
    if p is None:
        return None
    ind, text = p
    if text.startswith("- ") or text == "-":
        return _seq(lines, ind)
    if _split_key(text):
        return _map(lines, ind)
    lines.i += 1
    return _scalar(text)


def _block_scalar(lines, style, parent_indent):
    out = []
    block_indent = None
    while lines.i < len(lines.raw):
        line = lines.raw[lines.i]
        if line.strip() == "":
            out.append("")
            lines.i += 1
            continue
        ind = len(line) - len(line.lstrip(" "))
        if block_indent is None:
            if ind <= parent_indent:
                break
            block_indent = ind
        if ind < block_indent:
            break
        out.append(line[block_indent:])
        lines.i += 1
    chomp = style[1:] if len(style) > 1 else ""
    while out and out[-1] == "" and chomp != "+":
        out.pop()
    if style[0] == "|":
        s = "\n".join(out)
    else:
        s = " ".join(out)
    if chomp != "-" and out:
        s += "\n"
    return s


def _value(lines, rest, indent):
    if rest in ("|", "|-", "|+", ">", ">-", ">+"):
        lines.i += 1
        return _block_scalar(lines, rest, indent)
    if rest != "":
        lines.i += 1
        return _scalar(rest)
    lines.i += 1
    p = lines.peek()
    if p is None:
        return None
    ind, text = p
    if ind > indent or (ind == indent and (text.startswith("- ") or text == "-")):
        return _node(lines, ind)
    return None


def _map(lines, indent):
    out = {}
    while True:
        p = lines.peek()
        if p is None or p[0] != indent:
            break
        kv = _split_key(p[1])
        if kv is None:
            break
        k, rest = kv
        out[k] = _value(lines, rest, indent)
    return out


def _seq(lines, indent):
    out = []
    while True:
        p = lines.peek()
        if p is None or p[0] != indent or not (p[1].startswith("- ") or p[1] == "-"):
            break
        item = p[1][2:].strip() if p[1] != "-" else ""
        if item == "":
            lines.i += 1
            q = lines.peek()
            out.append(_node(lines, q[0]) if q and q[0] > indent else None)
            continue
        kv = _split_key(item)
        if kv is not None:
            # "- key: value" starts a mapping indented at the item's column
            col = indent + 2 + (len(p[1][2:]) - len(p[1][2:].lstrip(" ")))
            line = lines.raw[lines.i]
            lines.raw[lines.i] = " " * col + item
            out.append(_map(lines, col))
            del line
        else:
            if item in ("|", "|-", "|+", ">", ">-", ">+"):
                lines.i += 1
                out.append(_block_scalar(lines, item, indent))
            else:
                lines.i += 1
                out.append(_scalar(item))
    return out

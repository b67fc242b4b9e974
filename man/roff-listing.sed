# Turn C source into roff for a no-fill (.EX) listing that renders as the source itself:
# a backslash is \e; minus, quotes, caret and tilde are named glyphs, so groff -Tutf8 does
# not typeset them as a hyphen, curly quotes or accents; \& keeps a leading '.' from being
# read as a request (a leading quote is already \(aq).  Used by man/local.mk.
s/\\/\\e/g
s/-/\\-/g
s/'/\\(aq/g
s/`/\\(ga/g
s/\^/\\(ha/g
s/~/\\(ti/g
s/^\./\\\&./

# Turn sdk/include/releasemanager/backend.h into the roff of the REFERENCE section of
# releasemanager-backend(3), so that the page's reference IS the header's text (man/local.mk).
# Every line of the header becomes one line of roff, in order; only roff requests are added:
#   - a comment that starts in column 0 ("/*" ... " */") is prose: its delimiters go, its
#     lines are filled as text; a blank comment line starts a paragraph, and lines indented
#     past " * " (lists, code) stay as they are in an .EX block;
#   - a banner comment ("/* ----" ... "---- */") is a subsection: its first text line is the
#     .SS heading, the rest prose;
#   - everything else (code, with its own comments) is an .EX listing.
# Text is escaped as man/roff-listing.sed does, so that undoing those escapes and dropping
# the requests gives back the header less its comment delimiters and dash lines:
# tests/docs/test_man_reference.sh checks exactly that on the installed page.
function esc(s) {
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  gsub(/'/, "\\(aq", s)
  gsub(/`/, "\\(ga", s)
  gsub(/\^/, "\\(ha", s)
  gsub(/~/, "\\(ti", s)
  sub(/^\./, "\\\\\\&.", s)
  return s
}
function ex_open()  { if (!ex) { print ".PP"; print ".in +4n"; print ".EX"; ex = 1 } }
function ex_close() { if (ex) { print ".EE"; print ".in"; ex = 0 }; blanks = 0 }
function prose(t) {
  if (t ~ /^-+$/)
    return
  if (banner && !titled) {
    if (t == "") return
    ex_close(); print ".SS \"" esc(t) "\""; titled = 1; started = 0; return
  }
  if (t == "") { ex_close(); started = 0; return }
  if (t ~ /^[ \t]/) { ex_open(); print esc(t); started = 1; return }
  if (ex || !started) { ex_close(); print ".PP" }
  print esc(t); started = 1
}
BEGIN { incom = 0; ex = 0; blanks = 0 }
incom == 0 && /^\/\*/ {
  line = $0; incom = 1; banner = (line ~ /^\/\* -----/); titled = 0; started = 0
  ex_close()
  closes = sub(/[ \t]*\*\/[ \t]*$/, "", line)
  sub(/^\/\* ?/, "", line)
  prose(line)
  if (closes) { incom = 0; ex_close() }
  next
}
incom == 1 {
  line = $0
  closes = sub(/[ \t]*\*\/[ \t]*$/, "", line)
  sub(/^ \* ?/, "", line); sub(/^ \*$/, "", line)
  prose(line)
  if (closes) { incom = 0; ex_close() }
  next
}
/^[ \t]*$/ { if (ex) blanks++; next }
{
  if (!ex) ex_open()
  for (; blanks > 0; blanks--) print ""
  print esc($0)
}
END { ex_close() }

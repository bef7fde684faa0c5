"""roff for both man pages: escaping, fonts, option tags, sections, the date, writing the file.

The date comes from SOURCE_DATE_EPOCH (dpkg-buildpackage sets it from
debian/changelog), so two builds of one version write the same page.
"""

import os
import re
import sys
import time

from pyshared_tools import __version__

# Words whose hyphens are minus signs: options (also in parentheses or quotes), paths,
# names such as dh-pyshared, pyshared-scan or Contents-ARCH (a hyphen before an
# upper-case placeholder).  A page can name more, such as its finding codes.
_CODE_WORD = re.compile(r"^[(\['\"]*-|[/_$=]|\w-\d|^dh-|pyshared-|-[A-Z]{2}|PyInit")


_PUNCTUATION = "()[]'\",.;:"


def escape(text):
    """Plain text as roff: backslashes escaped, no line taken for a request."""
    text = text.replace("\\", "\\e")
    return text


def inline(text, code_words=()):
    """Plain text for a roff text line: minus signs in code-like words and `code_words`, else hyphens."""
    words = []
    for word in escape(text).split(" "):
        if _CODE_WORD.search(word) or word.strip(_PUNCTUATION) in code_words:
            word = word.replace("-", "\\-")
        words.append(word)
    line = " ".join(words)
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def bold(text):
    return f"\\fB{text}\\fR"


def italic(text):
    return f"\\fI{text}\\fR"


def flag(text):
    return bold(escape(text).replace("-", "\\-"))


def placeholder(text):
    """A metavar such as FILE or X.Y[,X.Y...]: italic, roff-safe."""
    return italic(escape(text).replace("-", "\\-"))


def code(line):
    """One line of a shell example (inside .nf) as roff: every hyphen a minus sign."""
    line = escape(line).replace("-", "\\-")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def option_tag(flags, metavar=None, equals=True):
    """The .TP tag line of one option: -p PACKAGE, --package=PACKAGE (--package PACKAGE without `equals`)."""
    names = []
    for name in flags:
        if metavar and name.startswith("--") and equals:
            names.append(f"{flag(name + '=')}{placeholder(metavar)}")
        elif metavar:
            names.append(f"{flag(name)} {placeholder(metavar)}")
        else:
            names.append(flag(name))
    return ", ".join(names)


def paragraphs(texts, code_words=()):
    """Plain-text paragraphs, each one .PP and one escaped text line."""
    lines = []
    for text in texts:
        lines += [".PP", inline(text, code_words)]
    return lines


def definitions(items, code_terms=True, code_words=()):
    """(term, text) pairs of plain text as .TP items; code terms are bold."""
    lines = []
    for term, text in items:
        term = inline(term, code_words)
        lines += [".TP", bold(term) if code_terms else term, inline(text, code_words)]
    return lines


def examples(items, code_words=()):
    """(plain-text introduction, roff source lines) pairs as indented, unfilled blocks."""
    lines = []
    for text, source in items:
        lines += [".PP", inline(text, code_words), ".PP", ".RS 4", ".nf", *source, ".fi", ".RE"]
    return lines


def see_also(pages):
    names = ((escape(name).replace("-", "\\-"), section) for name, section in pages)
    return ['.SH "SEE ALSO"', ",\n".join(f".BR {name} ({section})" for name, section in names)]


def header(title, section, date, manual):
    """.TH, then no hyphenation and ragged right: paths and option names stay whole."""
    return [f'.TH {title} {section} "{date}" "dh-pyshared {__version__}" "{manual}"', ".nh", ".ad l"]


def build_date(environ):
    """The page's date: SOURCE_DATE_EPOCH in UTC when set, else none."""
    epoch = environ.get("SOURCE_DATE_EPOCH", "")
    if not epoch.isdigit():
        return ""
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch)))


def write_page(render_page, argv=None):
    """`python3 -m ... [FILE]`: the page dated from SOURCE_DATE_EPOCH, to FILE or standard output."""
    argv = sys.argv[1:] if argv is None else argv
    text = render_page(build_date(os.environ))
    if argv:
        with open(argv[0], "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0

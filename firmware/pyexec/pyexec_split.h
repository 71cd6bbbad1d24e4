/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */
#ifndef MICROPY_INCLUDED_PYEXEC_SPLIT_H
#define MICROPY_INCLUDED_PYEXEC_SPLIT_H

// A byte-level splitter that finds where each top-level statement of a
// Python module begins, so the module can be compiled a batch of statements
// at a time without buffering a statement.  It follows MicroPython's lexer:
// strings of every kind, comments, brackets, backslash continuations, CR LF
// and lone CR line endings; `else`, `elif`, `except` and `finally` lines and
// the def/class after a decorator continue the statement before them.
// It needs nothing but C99; malformed input never makes it fail, it only
// yields boundaries the compiler will agree with or reject anyway.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Bytes a column-0 line may have to be held back: "finally" plus the byte
// after it decides whether it continues the previous statement.
#define PYEXEC_SPLIT_LOOKAHEAD (8)

typedef struct _pyexec_split_t {
    size_t depth; // bracket nesting outside strings and comments
    uint8_t state;
    uint8_t quote; // quote byte of the current string
    uint8_t count; // quotes seen at a string's start or end, or bytes held
    uint8_t keywords; // continuation keywords still matching the held bytes
    uint8_t const_state;
    bool triple; // the current string is triple-quoted
    bool cr; // the last byte was CR, so an LF after it is part of that newline
    bool stmt_seen; // the first statement has begun
    bool decorator; // the current statement began with @
} pyexec_split_t;

// Start before the first byte of a module.
void pyexec_split_init(pyexec_split_t *sp);

// Feed the next byte of the source. Returns 0, or N > 0 when it has just
// become known that a new top-level statement begins N bytes back, counting
// this byte (so the boundary lies before the last N bytes fed).
// N is at most PYEXEC_SPLIT_LOOKAHEAD, and the N - 1 bytes before this one
// are exactly those fed while pyexec_split_pending() was true.
// Nothing is reported for the module's first statement: the first batch
// starts at byte 0.
size_t pyexec_split_feed(pyexec_split_t *sp, uint8_t c);

// True while the splitter is deciding whether the current column-0 line
// starts a new statement; the caller must hold back the bytes fed since that
// line began (at most PYEXEC_SPLIT_LOOKAHEAD of them).  Once it is false
// again without a boundary reported, the held bytes belong to the current
// statement; so do any still held at the end of the input.
bool pyexec_split_pending(const pyexec_split_t *sp);

// True when the current top-level statement is `NAME = const(...)`, with
// blanks or a backslash continuation between tokens, and so far nothing but
// blanks, a `;` or a comment after the closing bracket.  It becomes true at
// the `(`, may turn false later on the same logical line, and is final when
// the line ends.  It describes the statement that the last reported boundary
// began (or the first one) until the next boundary is returned, so to learn
// the verdict on a statement, read it before each feed.
bool pyexec_split_const_def(const pyexec_split_t *sp);

#endif // MICROPY_INCLUDED_PYEXEC_SPLIT_H

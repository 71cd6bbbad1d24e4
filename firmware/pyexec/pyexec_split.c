/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */

#include <string.h>

#include "pyexec_split.h"

enum {
    SPLIT_LINE_START, // column 0 of a logical line
    SPLIT_LINE_BACKSLASH, // column-0 backslash, maybe joining the next line
    SPLIT_KEYWORD, // holding a column-0 word that may be a continuation keyword
    SPLIT_CODE,
    SPLIT_BACKSLASH,
    SPLIT_COMMENT,
    SPLIT_OPEN_QUOTE, // count quotes seen: '' may be empty or open '''
    SPLIT_STRING,
    SPLIT_STRING_ESCAPE,
};

// Matching `NAME = const(...)` at the start of a statement.
enum {
    SPLIT_CONST_NO,
    SPLIT_CONST_START,
    SPLIT_CONST_NAME,
    SPLIT_CONST_EQ,
    SPLIT_CONST_VALUE,
    SPLIT_CONST_PAREN,
    SPLIT_CONST_ARGS,
    SPLIT_CONST_TAIL,
    SPLIT_CONST_WORD, // SPLIT_CONST_WORD + n: matched n bytes of "const"
};

static const char *const split_keywords[] = {"else", "elif", "except", "finally"};

static bool split_is_blank(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

// Bytes >= 0x80 are UTF-8 and belong to identifiers, as in the lexer.
static bool split_is_head_of_identifier(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool split_is_tail_of_identifier(uint8_t c) {
    return split_is_head_of_identifier(c) || (c >= '0' && c <= '9');
}

static void split_const_feed(pyexec_split_t *sp, uint8_t c) {
    uint8_t s = sp->const_state;
    switch (s) {
        case SPLIT_CONST_NO:
            return;
        case SPLIT_CONST_START:
            s = split_is_head_of_identifier(c) ? SPLIT_CONST_NAME : SPLIT_CONST_NO;
            break;
        case SPLIT_CONST_NAME:
            if (split_is_tail_of_identifier(c)) {
                break;
            }
            s = c == '=' ? SPLIT_CONST_VALUE : split_is_blank(c) ? SPLIT_CONST_EQ : SPLIT_CONST_NO;
            break;
        case SPLIT_CONST_EQ:
            s = c == '=' ? SPLIT_CONST_VALUE : split_is_blank(c) ? SPLIT_CONST_EQ : SPLIT_CONST_NO;
            break;
        case SPLIT_CONST_VALUE:
            s = c == 'c' ? SPLIT_CONST_WORD + 1 : split_is_blank(c) ? SPLIT_CONST_VALUE : SPLIT_CONST_NO;
            break;
        case SPLIT_CONST_WORD + 5:
        case SPLIT_CONST_PAREN:
            s = c == '(' ? SPLIT_CONST_ARGS : split_is_blank(c) ? SPLIT_CONST_PAREN : SPLIT_CONST_NO;
            break;
        case SPLIT_CONST_ARGS:
            // only a closing bracket can bring the depth back to 0
            if (sp->depth == 0) {
                s = SPLIT_CONST_TAIL;
            }
            break;
        case SPLIT_CONST_TAIL:
            // the rest of a comment is never fed here
            if (!(split_is_blank(c) || c == '\n' || c == '#' || c == ';')) {
                s = SPLIT_CONST_NO;
            }
            break;
        default:
            s = c == (uint8_t)"const"[s - SPLIT_CONST_WORD] ? s + 1 : SPLIT_CONST_NO;
            break;
    }
    sp->const_state = s;
}

// One byte of code, outside strings and comments.
static void split_code(pyexec_split_t *sp, uint8_t c) {
    sp->state = SPLIT_CODE;
    switch (c) {
        case '\n':
            if (sp->depth == 0) {
                sp->state = SPLIT_LINE_START;
            }
            break;
        case '#':
            sp->state = SPLIT_COMMENT;
            break;
        case '\\':
            // a continuation is a blank to split_const_feed, so tell it later
            sp->state = SPLIT_BACKSLASH;
            return;
        case '\'':
        case '"':
            sp->state = SPLIT_OPEN_QUOTE;
            sp->quote = c;
            sp->count = 1;
            break;
        case '(':
        case '[':
        case '{':
            if (sp->depth != SIZE_MAX) {
                sp->depth++;
            }
            break;
        case ')':
        case ']':
        case '}':
            // unbalanced closers are the compiler's to report
            if (sp->depth != 0) {
                sp->depth--;
            }
            break;
    }
    split_const_feed(sp, c);
}

static void split_string(pyexec_split_t *sp, uint8_t c) {
    sp->state = SPLIT_STRING;
    if (c == sp->quote) {
        if (!sp->triple || ++sp->count == 3) {
            sp->state = SPLIT_CODE;
        }
        return;
    }
    sp->count = 0;
    if (c == '\\') {
        // in raw strings too, a backslash keeps the next byte in the string
        sp->state = SPLIT_STRING_ESCAPE;
    } else if (c == '\n' && !sp->triple) {
        // unterminated: the compiler reports it, go on after the newline
        split_code(sp, c);
    }
}

static void split_statement(pyexec_split_t *sp, uint8_t c) {
    sp->stmt_seen = true;
    sp->decorator = c == '@';
    sp->const_state = SPLIT_CONST_START;
}

static size_t split_line_start(pyexec_split_t *sp, uint8_t c) {
    if (c == '\n') {
        // a blank line
        return 0;
    }
    if (split_is_blank(c)) {
        // an indented line continues the statement (or is an error)
        sp->state = SPLIT_CODE;
        return 0;
    }
    if (c == '#') {
        sp->state = SPLIT_COMMENT;
        return 0;
    }
    if (c == '\\') {
        sp->state = SPLIT_LINE_BACKSLASH;
        return 0;
    }
    size_t n = 0;
    if (sp->decorator) {
        // the decorated def or class, or another decorator
        if (c != '@') {
            sp->decorator = false;
        }
    } else if (!sp->stmt_seen) {
        // the first statement is not reported
        split_statement(sp, c);
    } else if (c == 'e' || c == 'f') {
        sp->state = SPLIT_KEYWORD;
        sp->count = 1;
        sp->keywords = c == 'e' ? 0x7 : 0x8;
        return 0;
    } else {
        split_statement(sp, c);
        n = 1;
    }
    split_code(sp, c);
    return n;
}

static size_t split_keyword(pyexec_split_t *sp, uint8_t c) {
    uint8_t matching = 0;
    for (size_t i = 0; i < sizeof(split_keywords) / sizeof(split_keywords[0]); i++) {
        if (!(sp->keywords & (1 << i))) {
            continue;
        }
        uint8_t k = (uint8_t)split_keywords[i][sp->count];
        if (k == '\0') {
            if (!split_is_tail_of_identifier(c)) {
                // `else:` and the like continue the previous statement
                split_code(sp, c);
                return 0;
            }
        } else if (k == c) {
            matching |= 1 << i;
        }
    }
    if (matching) {
        sp->keywords = matching;
        sp->count++;
        return 0;
    }
    // a name such as `elsewhere` or `f`: a new statement
    size_t n = sp->count + 1;
    split_statement(sp, 'e');
    sp->const_state = SPLIT_CONST_NAME;
    split_code(sp, c);
    return n;
}

void pyexec_split_init(pyexec_split_t *sp) {
    memset(sp, 0, sizeof(*sp));
    sp->state = SPLIT_LINE_START;
}

size_t pyexec_split_feed(pyexec_split_t *sp, uint8_t c) {
    // CR LF and lone CR are newlines, as the lexer converts them
    if (sp->cr) {
        sp->cr = false;
        if (c == '\n') {
            return 0;
        }
    }
    if (c == '\r') {
        sp->cr = true;
        c = '\n';
    }

    switch (sp->state) {
        case SPLIT_LINE_START:
            return split_line_start(sp, c);
        case SPLIT_LINE_BACKSLASH:
            if (c == '\n') {
                // joins the next line, which starts the logical line
                sp->state = SPLIT_LINE_START;
            } else {
                split_code(sp, c);
            }
            break;
        case SPLIT_KEYWORD:
            return split_keyword(sp, c);
        case SPLIT_CODE:
            split_code(sp, c);
            break;
        case SPLIT_BACKSLASH:
            if (c == '\n') {
                sp->state = SPLIT_CODE;
            } else {
                split_code(sp, c);
            }
            break;
        case SPLIT_COMMENT:
            if (c == '\n') {
                split_code(sp, c);
            }
            break;
        case SPLIT_OPEN_QUOTE:
            if (c == sp->quote) {
                if (++sp->count == 3) {
                    sp->triple = true;
                    sp->count = 0;
                    sp->state = SPLIT_STRING;
                }
            } else if (sp->count == 2) {
                // an empty string
                split_code(sp, c);
            } else {
                sp->triple = false;
                split_string(sp, c);
            }
            break;
        case SPLIT_STRING:
            split_string(sp, c);
            break;
        default: // SPLIT_STRING_ESCAPE
            sp->count = 0;
            sp->state = SPLIT_STRING;
            break;
    }
    return 0;
}

bool pyexec_split_pending(const pyexec_split_t *sp) {
    return sp->state == SPLIT_KEYWORD;
}

bool pyexec_split_const_def(const pyexec_split_t *sp) {
    return sp->const_state == SPLIT_CONST_ARGS || sp->const_state == SPLIT_CONST_TAIL;
}

/* Reading the children's JSON lines: a validating skip, then member spans. */
#include <string.h>

#include "multi_json.h"

static const char *ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    return p;
}

/* p at the opening quote: @return just past the closing one, or NULL. */
static const char *string_end(const char *p, const char *e) {
    for (p++; p < e; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        } else if ((unsigned char)*p < 0x20) {
            return NULL;
        }
    }
    return NULL;
}

/* Skip one value: @return its end, or NULL when it is not valid. */
static const char *skip(const char *p, const char *e, int depth) {
    p = ws(p, e);
    if (p >= e || depth > 32) {
        return NULL;
    }
    if (*p == '"') {
        return string_end(p, e);
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1, e);
        if (p < e && *p == close) {
            return p + 1;
        }
        for (;;) {
            if (close == '}') {
                p = ws(p, e);
                if (p >= e || *p != '"' || !(p = string_end(p, e))) {
                    return NULL;
                }
                p = ws(p, e);
                if (p >= e || *p != ':') {
                    return NULL;
                }
                p++;
            }
            if (!(p = skip(p, e, depth + 1))) {
                return NULL;
            }
            p = ws(p, e);
            if (p >= e) {
                return NULL;
            }
            if (*p == close) {
                return p + 1;
            }
            if (*p != ',') {
                return NULL;
            }
            p++;
        }
    }
    /* A number, true, false or null: loosely. */
    const char *s = p;
    while (p < e && (strchr("+-.eE", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'))) {
        p++;
    }
    return p > s ? p : NULL;
}

int mu_js_members(const char *p, const char *e, struct mu_js_member *m, int max) {
    p = ws(p, e);
    const char *end = p < e && *p == '{' ? skip(p, e, 0) : NULL;
    if (!end || ws(end, e) != e) {
        return -1;
    }
    int n = 0;
    p = ws(p + 1, e);
    if (*p == '}') {
        return 0;
    }
    /* Valid, so every step below finds what it expects. */
    for (;;) {
        struct mu_js_member x;
        x.k = ws(p, e);
        x.k_end = string_end(x.k, e);
        x.v = ws(ws(x.k_end, e) + 1, e);
        x.v_end = skip(x.v, e, 1);
        if (n < max) {
            m[n++] = x;
        }
        p = ws(x.v_end, e);
        if (*p == '}') {
            return n;
        }
        p++;
    }
}

int mu_js_key_is(const struct mu_js_member *m, const char *key) {
    size_t n = strlen(key);
    return (size_t)(m->k_end - m->k) == n + 2 && !memcmp(m->k + 1, key, n);
}

const struct mu_js_member *mu_js_get(const struct mu_js_member *m, int n, const char *key) {
    for (int i = 0; i < n; i++) {
        if (mu_js_key_is(&m[i], key)) {
            return &m[i];
        }
    }
    return NULL;
}

static int hex4(const char *p, const char *e, unsigned *out) {
    unsigned v = 0;
    if (e - p < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v << 4 | (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99);
        if (v & ~0xffffu) {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned c) {
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3f));
    o[2] = (char)(0x80 | (c >> 6 & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

long mu_js_str(const char *p, const char *e, char *out) {
    if (p >= e || *p != '"') {
        return -1;
    }
    long o = 0;
    for (p++; p < e && *p != '"'; p++) {
        if (*p != '\\') {
            out[o++] = *p;
            continue;
        }
        if (++p >= e) {
            return -1;
        }
        unsigned c, lo;
        switch (*p) {
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'u':
            if (hex4(p + 1, e, &c)) {
                return -1;
            }
            p += 4;
            /* A surrogate pair is one character; a lone half is U+FFFD. */
            if (c >= 0xd800 && c < 0xdc00 && e - p > 6 && p[1] == '\\' && p[2] == 'u'
                && !hex4(p + 3, e, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (c >= 0xd800 && c < 0xe000) {
                c = 0xfffd;
            }
            o += (long)utf8_put(out + o, c);
            break;
        default: out[o++] = *p; break;
        }
    }
    return p < e ? o : -1;
}

/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */

// Input sources and the batch compiler of the streaming pyexec.
// Included by pyexec.c (one translation unit); not compiled on its own.
//
// Bytes flow: UART -> pyexec_in_rx() (control characters, raw-paste window,
// echo, timeout) -> a few bytes held while the splitter decides whether a
// line starts a new statement -> the lexer of the current batch.  Each batch
// of top-level statements is parsed and compiled on its own, its parse tree
// freed, and its module function kept (or run at once in streamed
// execution).  `NAME = const(N)` definitions are replayed on one line ahead
// of each later batch so they keep folding: a private one vanishes at parse
// time, and a public one must still be a constant in `const(NAME + 1)`.

// Bytes of source per batch: a new batch starts at the first statement
// boundary after this many bytes.
#ifndef MICROPY_PYEXEC_BATCH_SIZE
#define MICROPY_PYEXEC_BATCH_SIZE (4096)
#endif

// Bytes kept for the replayed const definitions; when full, the rest of the
// module is compiled as one batch (correct, but no longer bounded).
#ifndef MICROPY_PYEXEC_CONST_MAX
#define MICROPY_PYEXEC_CONST_MAX (1024)
#endif

// The start of each statement kept to recognise a const definition.
#ifndef MICROPY_PYEXEC_CONST_LINE_MAX
#define MICROPY_PYEXEC_CONST_LINE_MAX (96)
#endif

// Longest silence of the host in raw-paste and the extensions, in ms;
// 0 waits forever.  Needs mp_hal_ticks_ms() (ports with the time module
// have it) and mp_hal_stdio_poll().
#ifndef MICROPY_PYEXEC_RX_TIMEOUT_MS
#if MICROPY_PY_TIME
#define MICROPY_PYEXEC_RX_TIMEOUT_MS (MPU_PROTO_RX_TIMEOUT_MS)
#else
#define MICROPY_PYEXEC_RX_TIMEOUT_MS (0)
#endif
#endif

// Input events, returned by pyexec_in_rx() instead of a byte.
#define PYEXEC_IN_EOF (-1) // end of data (Ctrl-D)
#define PYEXEC_IN_CTRL_A (-2) // raw REPL: restart
#define PYEXEC_IN_CTRL_B (-3) // raw REPL: leave
#define PYEXEC_IN_CTRL_C (-4) // cancel
#define PYEXEC_IN_TIMEOUT (-5) // host silent too long

// Kinds of input.
#define PYEXEC_IN_RAW (0) // raw REPL: no echo, no flow control
#define PYEXEC_IN_PASTE (1) // raw-paste: window credits, end echoed
#define PYEXEC_IN_FRIENDLY (2) // friendly paste mode: echo
#define PYEXEC_IN_STREAM (3) // streamed execution: as raw-paste
#define PYEXEC_IN_SOURCE (4) // bytes from src(): checked blocks (B.6)

typedef struct _pyexec_in_t {
    uint8_t kind;
    bool eof; // end of data read (raw-paste: Ctrl-C/Ctrl-D echoed)
    bool eod_sent; // the \x04 acknowledging end of data was sent
    uint16_t window_max;
    uint16_t window_remain;
    uint8_t head[3]; // bytes read before streaming started
    uint8_t head_len;
    uint8_t head_pos;
    // PYEXEC_IN_SOURCE: the next byte, or -1 at the end of data; raises on
    // errors (a bad line, the host's abort).
    int (*src)(void *ctx);
    void *src_ctx;
} pyexec_in_t;

#if MICROPY_PYEXEC_RX_TIMEOUT_MS
#ifndef mp_hal_stdio_poll
// Ports without mp_hal_stdio_poll() read blocking, without a timeout.
MP_WEAK uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    return poll_flags & MP_STREAM_POLL_RD;
}
#endif

// A byte from the host, or -1 after ms of silence.
static int pyexec_rx_within(mp_uint_t ms) {
    if (!(mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD)) {
        mp_uint_t start = mp_hal_ticks_ms();
        while (!(mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD)) {
            if (mp_hal_ticks_ms() - start >= ms) {
                return -1;
            }
            mp_event_wait_ms(1);
        }
    }
    return mp_hal_stdin_rx_chr();
}
#else
static int pyexec_rx_within(mp_uint_t ms) {
    (void)ms;
    return mp_hal_stdin_rx_chr();
}
#endif

// A byte from the host, or -1 after MICROPY_PYEXEC_RX_TIMEOUT_MS of silence.
static int pyexec_rx_timed(void) {
    return pyexec_rx_within(MICROPY_PYEXEC_RX_TIMEOUT_MS);
}

static void pyexec_in_init(pyexec_in_t *in, uint8_t kind) {
    memset(in, 0, sizeof(*in));
    in->kind = kind;
}

// Raw-paste and streamed execution: tell the host the window, 2 windows free.
static void pyexec_in_start_window(pyexec_in_t *in, size_t buf_max) {
    size_t window = buf_max / 2;
    char reply[3] = { window & 0xff, window >> 8, 0x01 };
    mp_hal_stdout_tx_strn(reply, sizeof(reply));
    in->window_max = window;
    in->window_remain = window;
}

static void pyexec_in_send_eod(pyexec_in_t *in) {
    if (!in->eod_sent) {
        in->eod_sent = true;
        mp_hal_stdout_tx_strn("\x04", 1); // indicate end to host
    }
}

// The next byte of input, or a PYEXEC_IN_* event.
static int pyexec_in_rx(pyexec_in_t *in) {
    if (in->head_pos < in->head_len) {
        return in->head[in->head_pos++];
    }
    if (in->eof) {
        return PYEXEC_IN_EOF;
    }
    int c;
    switch (in->kind) {
        case PYEXEC_IN_RAW:
            c = mp_hal_stdin_rx_chr();
            switch (c) {
                case CHAR_CTRL_A:
                    return PYEXEC_IN_CTRL_A;
                case CHAR_CTRL_B:
                    return PYEXEC_IN_CTRL_B;
                case CHAR_CTRL_C:
                    return PYEXEC_IN_CTRL_C;
                case CHAR_CTRL_D:
                    in->eof = true;
                    return PYEXEC_IN_EOF;
            }
            return c;
        case PYEXEC_IN_FRIENDLY: {
            c = mp_hal_stdin_rx_chr();
            if (c == CHAR_CTRL_C) {
                return PYEXEC_IN_CTRL_C;
            } else if (c == CHAR_CTRL_D) {
                in->eof = true;
                return PYEXEC_IN_EOF;
            } else if (c == '\r') {
                mp_hal_stdout_tx_str("\r\n=== ");
            } else {
                char buf[1] = { c };
                mp_hal_stdout_tx_strn(buf, 1);
            }
            return c;
        }
        case PYEXEC_IN_SOURCE:
            c = in->src(in->src_ctx);
            if (c < 0) {
                in->eof = true;
                return PYEXEC_IN_EOF;
            }
            return c;
        default:
            c = pyexec_rx_timed();
            if (c < 0) {
                return PYEXEC_IN_TIMEOUT;
            }
            if (c == CHAR_CTRL_C || c == CHAR_CTRL_D) {
                in->eof = true;
                pyexec_in_send_eod(in);
                return c == CHAR_CTRL_C ? PYEXEC_IN_CTRL_C : PYEXEC_IN_EOF;
            }
            if (--in->window_remain == 0) {
                mp_hal_stdout_tx_strn("\x01", 1); // indicate window available to host
                in->window_remain = in->window_max;
            }
            return c;
    }
}

// Device abort of a flow-controlled input: tell the host to stop, then
// discard what it still sends up to its Ctrl-C/Ctrl-D or a silence.
static void pyexec_in_abort(pyexec_in_t *in) {
    if (in->kind != PYEXEC_IN_PASTE && in->kind != PYEXEC_IN_STREAM) {
        return;
    }
    bool was_eof = in->eof;
    pyexec_in_send_eod(in);
    if (!was_eof) {
        in->eof = true;
        for (;;) {
            int c = pyexec_rx_timed();
            if (c < 0 || c == CHAR_CTRL_C || c == CHAR_CTRL_D) {
                break;
            }
        }
    }
}

// The batch compiler.
typedef struct _pyexec_compile_t {
    pyexec_in_t *in;
    pyexec_split_t split;
    bool split_off; // no more batches: compile the rest as one
    bool is_repl; // expression statements print their value
    bool run_each; // streamed execution: run each batch at once
    // With run_each: runs a batch and frames its output, false when it
    // raised (reported); NULL: pyexec_stream_run (B.3).
    bool (*run)(struct _pyexec_compile_t *pc, mp_obj_t fun);
    bool batch_end; // the current batch ends before the held bytes
    bool input_end; // all input delivered or held
    bool cr; // last byte delivered was '\r'
    int8_t stmt_kind; // PYEXEC_STMT_* of the statement being read
    size_t kind_len; // bytes held of a new statement whose first word is awaited
    int event; // PYEXEC_IN_* event that stopped compilation, or 0
    uint8_t hold[PYEXEC_SPLIT_LOOKAHEAD + 1];
    size_t hold_len;
    size_t release; // held bytes the lexer may take
    size_t batch_len; // bytes delivered into the current batch
    size_t delivered; // bytes delivered in all
    size_t stmt_start; // offset where the next statement starts, or SIZE_MAX
    size_t line; // line of the next byte delivered
    size_t cap_len; // bytes of the current statement captured
    char cap[MICROPY_PYEXEC_CONST_LINE_MAX];
    char *consts; // "_A = const(1);_B = const(2);\n"
    size_t consts_len;
    size_t replay_pos;
    size_t replay_len; // consts replayed ahead of the current batch
    pyexec_funs_t *funs; // compiled batches
    pyexec_funs_t *funs_tail;
    size_t n_batches;
} pyexec_compile_t;

static bool pyexec_is_ident(int c, bool first) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

// What a top-level statement is, as far as batching cares.  A function made
// by a batch keeps that batch's whole constant table alive, so in streamed
// execution definitions are batched apart from other statements: otherwise
// one def next to large literals would pin them for the life of the program.
#define PYEXEC_STMT_UNKNOWN (-1)
#define PYEXEC_STMT_OTHER (0)
#define PYEXEC_STMT_DEF (1)

static bool pyexec_starts_with_word(const uint8_t *s, size_t n, const char *word) {
    size_t i = 0;
    for (; word[i] != '\0'; ++i) {
        if (i >= n || s[i] != (uint8_t)word[i]) {
            return false;
        }
    }
    return i < n && !pyexec_is_ident(s[i], false);
}

// True once the first n bytes of a statement tell its kind: past the first
// word, or long enough that it can't be one of those that matter.
static bool pyexec_stmt_kind_known(const uint8_t *s, size_t n) {
    return s[0] == '@' || n >= 6 || !pyexec_is_ident(s[n - 1], n == 1);
}

// Kind of the statement whose first n bytes are s.
static int pyexec_stmt_kind(const uint8_t *s, size_t n) {
    if (n > 0 && s[0] == '@') {
        return PYEXEC_STMT_DEF;
    }
    if (pyexec_starts_with_word(s, n, "def") || pyexec_starts_with_word(s, n, "class")
        || pyexec_starts_with_word(s, n, "async")) {
        return PYEXEC_STMT_DEF;
    }
    return PYEXEC_STMT_OTHER;
}

// Length of the `NAME = const(EXPR)` prefix of a captured statement that is
// nothing else (blanks, comment and newlines may follow), 0 when it is not a
// const definition, -1 when it may be one that can't be replayed.
static int pyexec_const_def_len(const char *s, size_t n, bool truncated) {
    size_t i = 0;
    if (n == 0 || !pyexec_is_ident(s[0], true)) {
        return 0;
    }
    while (i < n && pyexec_is_ident(s[i], i == 0)) {
        ++i;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        ++i;
    }
    if (i == n || s[i] != '=' || (i + 1 < n && s[i + 1] == '=')) {
        return truncated && i == n ? -1 : 0;
    }
    ++i;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        ++i;
    }
    if (n - i < 6 || strncmp(s + i, "const", 5) != 0) {
        return truncated && n - i < 6 ? -1 : 0;
    }
    i += 5;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        ++i;
    }
    if (i == n || s[i] != '(') {
        return truncated && i == n ? -1 : 0;
    }
    // From here on it is a const definition: replayable or not.
    int depth = 0;
    size_t end = 0;
    for (; i < n; ++i) {
        char c = s[i];
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            if (--depth == 0) {
                end = ++i;
                break;
            }
        } else if (!(pyexec_is_ident(c, false) || strchr(" \t+-*/%<>|&^~.", c))) {
            return -1;
        }
    }
    if (end == 0) {
        return -1;
    }
    // Only blanks, comments and line ends may follow.
    bool comment = false;
    for (; i < n; ++i) {
        char c = s[i];
        if (c == '\n' || c == '\r') {
            comment = false;
        } else if (comment) {
            continue;
        } else if (c == '#') {
            comment = true;
        } else if (c != ' ' && c != '\t') {
            return -1;
        }
    }
    if (truncated && !comment) {
        return -1;
    }
    return end;
}

// The statement that started at stmt_start has ended: keep it if it is a
// const definition.
static void pyexec_compile_end_stmt(pyexec_compile_t *pc) {
    size_t n = pc->cap_len;
    bool truncated = n > sizeof(pc->cap);
    int len = pyexec_const_def_len(pc->cap, truncated ? sizeof(pc->cap) : n, truncated);
    pc->cap_len = 0;
    if (len == 0 || pc->split_off) {
        return;
    }
    if (len < 0 || pc->consts_len + len + 2 > MICROPY_PYEXEC_CONST_MAX) {
        pc->split_off = true;
        return;
    }
    if (pc->consts == NULL) {
        pc->consts = m_new(char, MICROPY_PYEXEC_CONST_MAX);
    }
    if (pc->consts_len > 0) {
        pc->consts_len--; // drop "\n"
    }
    memcpy(pc->consts + pc->consts_len, pc->cap, len);
    pc->consts_len += len;
    pc->consts[pc->consts_len++] = ';';
    pc->consts[pc->consts_len++] = '\n';
}

static void pyexec_compile_deliver(pyexec_compile_t *pc, byte c) {
    if (pc->delivered == pc->stmt_start) {
        pyexec_compile_end_stmt(pc);
        pc->stmt_start = SIZE_MAX;
    }
    if (pc->cap_len < sizeof(pc->cap)) {
        pc->cap[pc->cap_len] = c;
    }
    if (pc->cap_len <= sizeof(pc->cap)) {
        pc->cap_len++;
    }
    pc->delivered++;
    pc->batch_len++;
    if (c == '\n') {
        if (!pc->cr) {
            pc->line++;
        }
        pc->cr = false;
    } else if (c == '\r') {
        pc->line++;
        pc->cr = true;
    } else {
        pc->cr = false;
    }
}

// Raises KeyboardInterrupt, as a Ctrl-C from the host does.
static NORETURN void pyexec_raise_kbd(void) {
    #if MICROPY_KBD_EXCEPTION
    MP_STATE_VM(mp_kbd_exception).traceback_data = NULL;
    nlr_raise(MP_OBJ_FROM_PTR(&MP_STATE_VM(mp_kbd_exception)));
    #else
    mp_raise_type(&mp_type_KeyboardInterrupt);
    #endif
}

static void pyexec_compile_stop(pyexec_compile_t *pc, int event) {
    pc->event = event;
    pyexec_raise_kbd();
}

// mp_reader_t of one batch: replayed consts, then the batch's bytes.
static mp_uint_t pyexec_compile_readbyte(void *data) {
    pyexec_compile_t *pc = data;
    if (pc->replay_pos < pc->replay_len) {
        return (byte)pc->consts[pc->replay_pos++];
    }
    for (;;) {
        if (pc->release > 0) {
            byte c = pc->hold[0];
            memmove(pc->hold, pc->hold + 1, --pc->hold_len);
            pc->release--;
            pyexec_compile_deliver(pc, c);
            return c;
        }
        if (pc->batch_end || pc->input_end) {
            return MP_READER_EOF;
        }
        int c = pyexec_in_rx(pc->in);
        if (c < 0) {
            if (c == PYEXEC_IN_EOF) {
                pc->input_end = true;
                pc->release = pc->hold_len;
                continue;
            }
            pyexec_compile_stop(pc, c);
        }
        if (pc->hold_len == sizeof(pc->hold)) {
            // Never with a splitter keeping its contract; be safe anyway.
            pc->split_off = true;
        }
        pc->hold[pc->hold_len++] = c;
        if (pc->split_off) {
            pc->release = pc->hold_len;
            continue;
        }
        size_t n = pyexec_split_feed(&pc->split, c);
        if (pc->kind_len > 0) {
            pc->kind_len++;
        }
        if (n > 0 && n <= pc->hold_len) {
            pc->stmt_start = pc->delivered + pc->hold_len - n;
            pc->kind_len = n;
        }
        if (pc->kind_len > 0) {
            // A new statement began: where the batch ends depends on its kind.
            size_t before = pc->hold_len - pc->kind_len;
            if (!pyexec_stmt_kind_known(pc->hold + before, pc->kind_len)) {
                pc->release = before;
                continue;
            }
            int kind = pyexec_stmt_kind(pc->hold + before, pc->kind_len);
            // The first statement's kind is not known: it may share a batch.
            bool kind_changed = pc->stmt_kind != PYEXEC_STMT_UNKNOWN && kind != pc->stmt_kind;
            pc->stmt_kind = kind;
            pc->kind_len = 0;
            if (pc->batch_len + before >= MICROPY_PYEXEC_BATCH_SIZE
                || (pc->run_each && kind_changed && pc->batch_len + before > 0)) {
                pc->batch_end = true;
                pc->release = before;
            } else {
                pc->release = pc->hold_len;
            }
        } else if (!pyexec_split_pending(&pc->split)) {
            pc->release = pc->hold_len;
        }
    }
}

static void pyexec_compile_close(void *data) {
    (void)data;
}

static void pyexec_compile_init(pyexec_compile_t *pc, pyexec_in_t *in, bool is_repl) {
    memset(pc, 0, sizeof(*pc));
    pc->in = in;
    pc->is_repl = is_repl;
    pc->line = 1;
    pc->stmt_start = 0;
    pc->stmt_kind = PYEXEC_STMT_UNKNOWN;
    pyexec_split_init(&pc->split);
}

#if MICROPY_PYEXEC_EXTENSIONS
// Runs one compiled batch in streamed execution, framing its output.
// Returns false when it raised (the exception was reported).
static bool pyexec_stream_run(mp_obj_t fun);
#endif

// Parses and compiles the input a batch at a time, keeping each batch's
// module function in pc->funs.  Returns NULL, or the exception that stopped
// it (with pc->event set when an input event did).
static mp_obj_t pyexec_compile_all(pyexec_compile_t *pc) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        for (;;) {
            if (pc->delivered == pc->stmt_start) {
                // The previous batch ended with a whole statement.
                pyexec_compile_end_stmt(pc);
                pc->stmt_start = SIZE_MAX;
            }
            size_t start_line = pc->line;
            bool replay = pc->consts_len > 0 && pc->delivered > 0;
            pc->replay_pos = 0;
            pc->replay_len = replay ? pc->consts_len : 0;
            mp_reader_t reader = { pc, pyexec_compile_readbyte, pyexec_compile_close };
            mp_lexer_t *lex = mp_lexer_new(MP_QSTR__lt_stdin_gt_, reader);
            // The replayed consts take the line before the batch.
            size_t shift = start_line - 1 - (replay ? 1 : 0);
            lex->line += shift;
            lex->tok_line += shift;
            mp_parse_tree_t parse_tree = mp_parse(lex, MP_PARSE_FILE_INPUT);
            mp_obj_t fun = mp_compile(&parse_tree, MP_QSTR__lt_stdin_gt_, pc->is_repl);

            pc->n_batches++;
            #if MICROPY_PYEXEC_EXTENSIONS
            if (pc->run_each) {
                if (!(pc->run != NULL ? pc->run(pc, fun) : pyexec_stream_run(fun))) {
                    nlr_pop();
                    return mp_const_none;
                }
            } else
            #endif
            {
                pyexec_funs_t *made = pyexec_funs_append(&pc->funs_tail, fun);
                if (pc->funs == NULL) {
                    pc->funs = made;
                }
            }
            if (pc->input_end && pc->hold_len == 0) {
                break;
            }
            pc->batch_end = false;
            pc->batch_len = 0;
            pc->release = pyexec_split_pending(&pc->split) ? 0 : pc->hold_len;
            #if MICROPY_ENABLE_GC
            // The batch's parse tree is garbage now: collect before the next
            // one so the heap holds compiled code, not holes.
            gc_collect();
            #endif
        }
        nlr_pop();
        return MP_OBJ_NULL;
    } else {
        pc->funs = pc->funs_tail = NULL;
        mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        if (pc->event == PYEXEC_IN_CTRL_C && pc->in->kind != PYEXEC_IN_RAW
            && pc->in->kind != PYEXEC_IN_FRIENDLY) {
            // Raw-paste reports Ctrl-C as a KeyboardInterrupt, as upstream.
            pc->event = 0;
        } else if (pc->event == PYEXEC_IN_TIMEOUT) {
            pc->event = 0;
            exc = mp_obj_new_exception_arg1(&mp_type_OSError, MP_OBJ_NEW_SMALL_INT(MP_ETIMEDOUT));
        }
        return exc;
    }
}

// After a compile error: consume the rest of the input as upstream would.
// Returns 0 at the end of data, or the event that came first.
static int pyexec_compile_drain(pyexec_compile_t *pc) {
    pyexec_in_t *in = pc->in;
    if (in->kind == PYEXEC_IN_PASTE || in->kind == PYEXEC_IN_STREAM) {
        pyexec_in_abort(in);
        return 0;
    }
    for (;;) {
        int c = pyexec_in_rx(in);
        if (c == PYEXEC_IN_EOF) {
            return 0;
        } else if (c < 0) {
            return c;
        }
    }
}

// Compiles the whole input.  Returns 0 when the input ended normally: then
// *exc is NULL and pc->funs holds the batches, or *exc is the exception to
// report.  Returns a PYEXEC_IN_* event when one ended the input first.
static int pyexec_compile_input(pyexec_compile_t *pc, mp_obj_t *exc) {
    *exc = pyexec_compile_all(pc);
    if (pc->consts != NULL) {
        m_del(char, pc->consts, MICROPY_PYEXEC_CONST_MAX);
        pc->consts = NULL;
    }
    if (pc->event != 0) {
        *exc = MP_OBJ_NULL;
        return pc->event;
    }
    if (*exc != MP_OBJ_NULL && *exc != mp_const_none) {
        // Drop what was compiled before the report needs memory.
        pc->funs = pc->funs_tail = NULL;
        #if MICROPY_ENABLE_GC
        gc_collect();
        #endif
        int ev = pyexec_compile_drain(pc);
        if (ev != 0) {
            *exc = MP_OBJ_NULL;
            return ev;
        }
    }
    return 0;
}

/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */

// B.6: streamed execution whose program text arrives in CRC-checked B.2
// blocks, so a byte damaged on the line is re-sent instead of run.
// Included by pyexec_ext.c (one translation unit); not compiled on its own.
//
// Each batch runs as soon as it is compiled, as in B.3.  A program runs
// while the host could still be sending, and a running program takes a
// 0x03 off the line as Ctrl-C, before it reaches any buffer: a CRC byte
// of a block in flight would interrupt it.  So the device asks for each
// block (\x01) when it is ready to read it, and never while a batch runs;
// then the only bytes that can arrive during a run are the host's Ctrl-C
// and the RESYNC sequence, which has no 0x03.

// Serve B.6 (it uses the B.2 receiver's CRC-32, compiled on every port).
#ifndef MICROPY_PYEXEC_CHECKED
#define MICROPY_PYEXEC_CHECKED (1)
#endif

#if MICROPY_PYEXEC_CHECKED

// Largest block payload: the whole block fits the receive buffer, so the
// device may be slow to read it.
#ifndef MICROPY_PYEXEC_CHECKED_BLOCK
#define MICROPY_PYEXEC_CHECKED_BLOCK (MICROPY_REPL_STDIN_BUFFER_MAX - MPU_PROTO_BLK_HEADER_LEN - MPU_PROTO_BLK_TRAILER_LEN)
#endif

// Longest pause inside a block before it counts as damaged (a dropped byte
// would leave the device waiting for it), and the silence after which a
// NAK is repeated while waiting for RESYNC.
#ifndef MICROPY_PYEXEC_CHECKED_GAP_MS
#define MICROPY_PYEXEC_CHECKED_GAP_MS (200)
#endif
#if MICROPY_PYEXEC_CHECKED_GAP_MS >= MPU_PROTO_BREAK_GAP_MS
#error "a host's session break waits only MPU_PROTO_BREAK_GAP_MS for a block to time out"
#endif

#define PYEXEC_CHECKED_TAIL (MICROPY_PYEXEC_CHECKED_BLOCK + MPU_PROTO_BLK_HEADER_LEN + MPU_PROTO_BLK_TRAILER_LEN)

// The receiver of B.6, an input source of the batch compiler.
typedef struct _pyexec_checked_t {
    byte *buf; // payload and CRC of the current block
    size_t len;
    size_t pos;
    uint32_t total; // payload bytes received
    uint8_t seq; // next expected
    uint8_t naks; // in a row
    bool end; // the E block was received and acknowledged
} pyexec_checked_t;

static bool pyexec_checked_available(void) {
    return true;
}

static void pyexec_checked_tx2(byte a, byte b) {
    byte r[2] = { a, b };
    mp_hal_stdout_tx_strn((const char *)r, 2);
}

static void pyexec_checked_nak(pyexec_checked_t *ck) {
    if (++ck->naks > MPU_PROTO_FILE_MAX_RETRIES) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("too many bad blocks"));
    }
    pyexec_checked_tx2(MPU_PROTO_BLK_NAK, ck->seq);
}

// Reads n bytes into p, each within the gap; false on a pause.
static bool pyexec_checked_read(byte *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int c = pyexec_rx_within(MICROPY_PYEXEC_CHECKED_GAP_MS);
        if (c < 0) {
            return false;
        }
        p[i] = c;
    }
    return true;
}

// After a NAK: discards input up to MPU_PROTO_RESYNC.  tail is how many of
// the next bytes may still belong to the damaged block: a 0x03 among them
// is data, after them (or after a pause) it is the host's Ctrl-C.
static void pyexec_checked_hunt(pyexec_checked_t *ck, size_t tail) {
    size_t got = 0;
    for (;;) {
        int c = pyexec_rx_within(MICROPY_PYEXEC_CHECKED_GAP_MS);
        if (c < 0) {
            // The host's RESYNC was lost, or the NAK was: say it again.
            pyexec_checked_nak(ck);
            tail = 0;
            got = 0;
            continue;
        }
        if (c == (byte)MPU_PROTO_RESYNC[got]) {
            if (++got == MPU_PROTO_RESYNC_LEN) {
                return;
            }
            continue;
        }
        got = c == (byte)MPU_PROTO_RESYNC[0] ? 1 : 0;
        if (c == CHAR_CTRL_C && tail == 0) {
            pyexec_raise_kbd();
        }
        if (tail > 0) {
            tail--;
        }
    }
}

// Receives the next good block: asks for it, NAKs bad ones (the host then
// writes RESYNC and sends it again when asked), ACKs it.
static void pyexec_checked_next(pyexec_checked_t *ck) {
    if (ck->buf == NULL) {
        ck->buf = m_new(byte, MICROPY_PYEXEC_CHECKED_BLOCK + MPU_PROTO_BLK_TRAILER_LEN);
    }
    mp_hal_stdout_tx_strn("\x01", 1); // ready for a block
    for (;;) {
        int c = pyexec_rx_timed();
        if (c < 0) {
            mp_raise_OSError(MP_ETIMEDOUT);
        }
        if (c == CHAR_CTRL_C) {
            pyexec_raise_kbd();
        }
        if (c == '\r') {
            // Hosts write "\r\x03" to stop a program: let the 0x03 through.
            continue;
        }
        size_t tail = PYEXEC_CHECKED_TAIL;
        byte hdr[MPU_PROTO_RESYNC_LEN - 1];
        bool ok = c == MPU_PROTO_BLK_SYNC;
        size_t n = 0;
        if (ok) {
            ok = pyexec_checked_read(hdr, 4);
            if (!ok) {
                tail = 0;
            } else if (memcmp(hdr, &MPU_PROTO_RESYNC[1], 4) == 0) {
                // A RESYNC between blocks (the host answered a repeated
                // NAK twice): skip it.
                ok = pyexec_checked_read(hdr + 4, 3);
                if (ok && memcmp(hdr + 4, &MPU_PROTO_RESYNC[5], 3) == 0) {
                    continue;
                }
                ok = false;
            } else {
                n = hdr[2] | hdr[3] << 8;
                ok = (hdr[0] == MPU_PROTO_BLK_DATA || hdr[0] == MPU_PROTO_BLK_END || hdr[0] == MPU_PROTO_BLK_ABORT)
                    && n <= MICROPY_PYEXEC_CHECKED_BLOCK;
            }
        }
        if (ok) {
            ok = pyexec_checked_read(ck->buf, n + MPU_PROTO_BLK_TRAILER_LEN);
            if (!ok) {
                tail = 0;
            } else {
                uint32_t crc = pyexec_crc32(MPU_PROTO_CRC32_INIT, hdr, 4);
                crc = pyexec_crc32(crc, ck->buf, n) ^ MPU_PROTO_CRC32_XOROUT;
                const byte *t = ck->buf + n;
                // An X block aborts whatever its sequence number (B.2).
                ok = crc == ((uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24)
                    && (hdr[1] == ck->seq || hdr[0] == MPU_PROTO_BLK_ABORT);
            }
        }
        if (!ok) {
            pyexec_checked_nak(ck);
            pyexec_checked_hunt(ck, tail);
            mp_hal_stdout_tx_strn("\x01", 1); // ready for it again
            continue;
        }
        ck->naks = 0;
        if (hdr[0] == MPU_PROTO_BLK_ABORT) {
            pyexec_raise_kbd();
        }
        if (hdr[0] == MPU_PROTO_BLK_END) {
            const byte *b = ck->buf;
            if (n != 4 || (b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24) != ck->total) {
                mp_raise_msg(&mp_type_ValueError, MP_ERROR_TEXT("program length mismatch"));
            }
            ck->end = true;
            n = 0;
        }
        pyexec_checked_tx2(MPU_PROTO_BLK_ACK, ck->seq++);
        ck->len = n;
        ck->pos = 0;
        ck->total += n;
        return;
    }
}

// PYEXEC_IN_SOURCE: the program text, a verified block at a time.
static int pyexec_checked_byte(void *data) {
    pyexec_checked_t *ck = data;
    while (ck->pos >= ck->len) {
        if (ck->end) {
            return -1;
        }
        pyexec_checked_next(ck);
    }
    return ck->buf[ck->pos++];
}

// Runs one batch in an output section; an exception is CAN + text + \x04.
static bool pyexec_checked_run(pyexec_compile_t *pc, mp_obj_t fun) {
    (void)pc;
    return pyexec_ext_run(fun, "\x04", "\x18");
}

// After CAN: discards input up to the host's RESYNC or Ctrl-C, or a pause.
static void pyexec_checked_drain(void) {
    size_t got = 0;
    for (;;) {
        int c = pyexec_rx_within(MICROPY_PYEXEC_CHECKED_GAP_MS);
        if (c < 0 || c == CHAR_CTRL_C) {
            return;
        }
        if (c == (byte)MPU_PROTO_RESYNC[got]) {
            if (++got == MPU_PROTO_RESYNC_LEN) {
                return;
            }
        } else {
            got = c == (byte)MPU_PROTO_RESYNC[0] ? 1 : 0;
        }
    }
}

static int pyexec_ext_checked(void) {
    byte r[4] = { 'R', MPU_PROTO_NEG_ACCEPTED };
    pyexec_ext_u16(r + 2, MICROPY_PYEXEC_CHECKED_BLOCK);
    mp_hal_stdout_tx_strn((const char *)r, sizeof(r));

    pyexec_checked_t ck;
    memset(&ck, 0, sizeof(ck));
    pyexec_in_t in;
    pyexec_in_init(&in, PYEXEC_IN_SOURCE);
    in.src = pyexec_checked_byte;
    in.src_ctx = &ck;
    pyexec_compile_t pc;
    pyexec_compile_init(&pc, &in, false);
    pc.run_each = true;
    pc.run = pyexec_checked_run;
    mp_obj_t exc = pyexec_compile_all(&pc);
    if (pc.consts != NULL) {
        m_del(char, pc.consts, MICROPY_PYEXEC_CONST_MAX);
        pc.consts = NULL;
    }
    if (ck.buf != NULL) {
        m_del(byte, ck.buf, MICROPY_PYEXEC_CHECKED_BLOCK + MPU_PROTO_BLK_TRAILER_LEN);
        ck.buf = NULL;
    }
    if (exc != MP_OBJ_NULL && exc != mp_const_none) {
        #if MICROPY_ENABLE_GC
        gc_collect();
        #endif
        pyexec_ext_report("\x18", exc);
    }
    if (exc != MP_OBJ_NULL) {
        pyexec_checked_drain();
    }
    return 0;
}

#else

static bool pyexec_checked_available(void) {
    return false;
}

static int pyexec_ext_checked(void) {
    // Not served by this port.
    mp_hal_stdout_tx_strn("R\x00", 2);
    return 0;
}

#endif // MICROPY_PYEXEC_CHECKED

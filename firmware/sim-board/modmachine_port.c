// The machine module's port part, included from extmod/modmachine.c via
// MICROPY_PY_MACHINE_INCLUDEFILE.

#include "main.h"

static void mp_machine_idle(void) {
    mp_event_wait_ms(1);
}

static void mp_machine_reset(void) {
    board_hard_reset();
}

static mp_int_t mp_machine_reset_cause(void) {
    return board_reset_cause();
}

static mp_obj_t mp_machine_unique_id(void) {
    static const uint8_t id[8] = { 's', 'i', 'm', '-', 'b', 'r', 'd', '1' };
    return mp_obj_new_bytes(id, sizeof(id));
}

static mp_obj_t mp_machine_get_freq(void) {
    return MP_OBJ_NEW_SMALL_INT(100000000);
}

static void mp_machine_set_freq(size_t n_args, const mp_obj_t *args) {
    mp_raise_NotImplementedError(NULL);
}

static void mp_machine_lightsleep(size_t n_args, const mp_obj_t *args) {
    mp_hal_delay_ms(n_args == 0 ? 0 : mp_obj_get_int(args[0]));
}

NORETURN static void mp_machine_deepsleep(size_t n_args, const mp_obj_t *args) {
    // Waking from deep sleep is a reset.
    mp_machine_lightsleep(n_args, args);
    board_hard_reset();
}

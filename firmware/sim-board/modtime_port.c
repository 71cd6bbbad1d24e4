// The time module's port part, included from extmod/modtime.c via
// MICROPY_PY_TIME_INCLUDEFILE.

// Return the number of seconds since the Epoch.
static mp_obj_t mp_time_time_get(void) {
    return mp_obj_new_int_from_ull(mp_hal_time_ns() / 1000000000ull);
}

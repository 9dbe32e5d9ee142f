# Sourced by the device-side A/B calls over plugin variants (count_probe.sh,
# onetok_ab.sh). unpack_variants NAME...: this build's plugin ($C) as
# /tmp/variants/new.so and each NAME from .carry/variants/NAME.so.xz as
# /tmp/variants/NAME.so; ALL lists them, this build first.
unpack_variants() {
  mkdir -p /tmp/variants
  cp "$C/lib/moert/plugins/libmoert-cuda.so" /tmp/variants/new.so
  for v in "$@"; do xz -dc ".carry/variants/$v.so.xz" > "/tmp/variants/$v.so"; done
  ALL="new $*"
}

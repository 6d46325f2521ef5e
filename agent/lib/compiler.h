/*
 * Compiler annotations. UNUSED marks a parameter a callback's signature
 * imposes but this implementation has no use for: the build runs with
 * -Wunused-parameter, so every other unused parameter is a warning.
 */
#ifndef AHD_COMPILER_H
#define AHD_COMPILER_H

#define UNUSED	__attribute__((unused))

#endif

/* version.c - the version of the library linked in, which a program may
 * compare with the GLIMP_VERSION_STRING it was compiled against. */
#include "glimp.h"

const char *glimp_version(void)
{
    return GLIMP_VERSION_STRING;
}

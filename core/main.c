/* releasemanager entry point (being built). */
#include <config.h>
#include <stdio.h>
int
main (void)
{
  puts (PACKAGE_STRING);
  return 0;
}

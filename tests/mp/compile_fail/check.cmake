# Compiles unsendable.cxx, which must fail, and checks that the compiler shows each of mp's
# readable static_assert messages. Arguments: CXX, SOURCE, INCLUDES (";"-separated).
set(args -std=c++20 -fsyntax-only)
foreach(dir IN LISTS INCLUDES)
  list(APPEND args -I${dir})
endforeach()
execute_process(COMMAND ${CXX} ${args} ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but sending those values must be a compile error")
endif()
foreach(expect "cannot be sent to another process: give it a cereal serialize"
               "must be a plain function or a captureless lambda"
               "a raw pointer cannot be sent to another process")
  string(FIND "${out}${err}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "compiler output lacks the message: ${expect}\n${err}")
  endif()
endforeach()
message(STATUS "all three misuses were rejected with mp's messages")

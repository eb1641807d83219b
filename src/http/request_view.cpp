#include "http/request_view.hpp"

namespace prefork::http {

Request make_request(const Message& message, const char* buffer, std::vector<Header>& headers,
                     std::string_view peer, std::string_view scheme,
                     std::string_view client_subject, Worker* worker) {
  const char* base = buffer + message.start;
  headers.clear();
  for (const FieldSpan& field : message.fields) {
    headers.push_back(Header{{base + field.name_offset, field.name_length},
                             {base + field.value_offset, field.value_length}});
  }
  Request::Fields fields;
  fields.method = message.method;
  fields.target = std::string_view(base + message.target_offset, message.target_length);
  std::size_t question = fields.target.find('?');
  fields.path = fields.target.substr(0, question);
  if (question != std::string_view::npos) fields.query = fields.target.substr(question + 1);
  fields.body = std::string_view(base + message.body_offset, message.body_length);
  fields.peer = peer;
  fields.scheme = scheme;
  fields.client_subject = client_subject;
  fields.worker = worker;
  fields.headers = headers;
  fields.keep_alive = message.keep_alive;
  fields.http_major = message.http_major;
  fields.http_minor = message.http_minor;
  return Request(fields);
}

}  // namespace prefork::http

// A scrape as a job on a backend's lane: render runs on the pool (where it may wait for
// Redis or read files), done gets the text or why not on the loop.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "core/work_lane.hpp"

namespace prefork::storage {

inline void push_scrape(WorkLane& lane, std::function<std::string()> render,
                        std::function<void(Result<std::string>)> done) {
  auto text = std::make_shared<std::string>();
  lane.push({[text, render = std::move(render)] {
               *text = render();
               return Status();
             },
             [text, done = std::move(done)](const Status& status) {
               if (status.ok()) {
                 done(std::move(*text));
               } else {
                 done(status);
               }
             }});
}

}  // namespace prefork::storage

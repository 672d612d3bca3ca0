// The JS floor: answers every request with a fixed body, touching neither the
// cookie nor any binding.
export default {
  fetch() {
    return new Response("ok");
  },
};
